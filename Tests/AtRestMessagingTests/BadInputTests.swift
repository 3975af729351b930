import AtRestMessaging
import AtRestWire
import Testing

@Suite("Bad input to a server")
struct BadInputTests {
    /// Sends raw frames from a DEALER and returns the reply, if any arrives.
    private func exchange(_ frames: [[UInt8]], with endpoint: String, waitMs: Int = 200) throws -> [[UInt8]]? {
        let dealer = try ZMQSocket(.dealer)
        try dealer.connect(endpoint)
        try dealer.send(frames.map { Frame($0) })
        return try dealer.receive(timeoutMs: waitMs)?.map(\.bytes)
    }

    private let tag = Array("ATR1".utf8)

    @Test func invalidHeaderGetsInvalidArgument() async throws {
        let server = try RPCServer(service: TestServices.router(), endpoint: TestServices.inproc("bad"))
        defer { server.close() }
        let reply = try exchange([[], tag, [Command.request.rawValue], [0xFF, 0x01], []], with: server.endpoint)
        let frames = try #require(reply)
        #expect(frames.count >= 4)
        #expect(frames[2] == [Command.reply.rawValue])
        let header = try ReplyHeader(serialized: frames[3])
        #expect(header.status.code == .invalidArgument)
    }

    @Test func headerWithoutMethodGetsInvalidArgumentWithItsCallID() async throws {
        let server = try RPCServer(service: TestServices.router(), endpoint: TestServices.inproc("nomethod"))
        defer { server.close() }
        let header = RPCHeader(method: "", callID: Array(repeating: 7, count: 16))
        let reply = try #require(try exchange(
            [[], tag, [Command.request.rawValue], header.serialized(), []], with: server.endpoint))
        let replyHeader = try ReplyHeader(serialized: reply[3])
        #expect(replyHeader.callID == header.callID)
        #expect(replyHeader.status.code == .invalidArgument)
    }

    @Test func wrongTagAndGarbageAreDroppedAndServerKeepsServing() async throws {
        let server = try RPCServer(service: TestServices.router(), endpoint: TestServices.inproc("garbage"))
        defer { server.close() }
        #expect(try exchange([[], Array("HTTP".utf8), [1], [], []], with: server.endpoint, waitMs: 50) == nil)
        #expect(try exchange([[1, 2, 3]], with: server.endpoint, waitMs: 50) == nil)
        #expect(try exchange([[], tag, [0x7F]], with: server.endpoint, waitMs: 50) == nil)
        let client = try RPCClient(endpoint: server.endpoint)
        defer { client.close() }
        let reply = try await client.call(TestServices.echo, request: EchoRequest(text: "ok"), as: EchoReply.self)
        #expect(reply.message.text == "ok")
    }

    @Test func tooManyBytesAreRejectedByTheLimit() async throws {
        let limits = MessagingLimits(maxMessageBytes: 256 << 10)
        let server = try RPCServer(
            service: TestServices.router(), endpoint: TestServices.inproc("big"),
            configuration: RPCServerConfiguration(limits: limits))
        defer { server.close() }
        let client = try RPCClient(endpoint: server.endpoint)
        defer { client.close() }
        // Each frame fits ZMQ_MAXMSGSIZE, the total does not: the server answers.
        let part = [UInt8](repeating: 1, count: 200 << 10)
        let error = await #expect(throws: RPCStatus.self) {
            _ = try await client.call(
                TestServices.echo, request: EchoRequest(text: "big"), as: EchoReply.self, payload: [part, part],
                timeout: .seconds(2))
        }
        #expect(error?.code == .invalidArgument)
    }
}
