import AtRestMessaging
import AtRestWire
import Testing

/// The call path's one clock: `monotonicNanos()`, `Deadline`, `Duration.nanoseconds`.
@Suite("Deadlines on the monotonic clock")
struct DeadlineTests {
    @Test func deadlineArithmetic() {
        let deadline = Deadline.after(.seconds(2))
        let left = deadline.timeLeft
        #expect(left > .milliseconds(1_500) && left <= .seconds(2), "\(left)")
        #expect(Deadline(nanoseconds: monotonicNanos() - 1).timeLeft == .zero)
        #expect(Deadline(nanoseconds: 1) < deadline)
        #expect(Duration.milliseconds(1_500).nanoseconds == 1_500_000_000)
        #expect(Duration.seconds(-1).nanoseconds == 0)
    }

    /// A handler sees the deadline its caller set (`RpcHeader.timeout_ms` on
    /// arrival), on the same clock: the front door forwards `timeLeft`.
    @Test func aHandlerSeesTheCallersDeadline() async throws {
        var router = RPCRouter()
        router.register(TestServices.echo, EchoRequest.self) { (_: EchoRequest, context: RPCContext) async throws -> EchoReply in
            let left = context.deadline.map { $0.timeLeft.nanoseconds / 1_000_000 } ?? 0
            return EchoReply(text: "\(left)", servedBy: "deadline")
        }
        let server = try RPCServer(service: router, endpoint: TestServices.inproc("deadline"))
        defer { server.close() }
        let client = try RPCClient(endpoint: server.endpoint)
        defer { client.close() }
        for seconds in [3, 20] {
            let reply = try await client.call(TestServices.echo, request: EchoRequest(text: ""), as: EchoReply.self,
                                              timeout: .seconds(seconds))
            let leftMs = try #require(UInt64(reply.message.text))
            #expect(leftMs > UInt64(seconds) * 1000 - 1000 && leftMs <= UInt64(seconds) * 1000, "\(leftMs) ms of \(seconds) s")
        }
    }
}
