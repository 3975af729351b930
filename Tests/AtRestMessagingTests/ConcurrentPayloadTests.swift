import AtRestMessaging
import AtRestWire
import Testing

/// Many tasks sending payload parts at once over tcp: every call's reply
/// must carry exactly its own bytes. This exercises the paths where calling
/// tasks send on the client's socket and handler tasks send on the server's
/// or worker's socket while the loop threads receive (`SharedSocket`,
/// `ClientCore`), and parts that are slices of one buffer or received frames
/// sent on without copying.
@Suite("Concurrent payload parts over tcp")
struct ConcurrentPayloadTests {
    /// One 3 MiB buffer; each call sends a slice of it (sizes around the
    /// zero-copy threshold and a large one) plus a small array.
    static let buffer: [UInt8] = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: ($0 >> 3) &* 131 &+ $0) }
    static let sizes = [0, 1, 4095, 4096, 4097, 65_536, (1 << 20) + 3]

    static func parts(for call: Int) -> [PayloadPart] {
        let size = sizes[call % sizes.count]
        let start = (call * 7919) % (buffer.count - size)
        return [PayloadPart(buffer, range: start..<(start + size)), PayloadPart([UInt8(call & 0xFF), 0xEE])]
    }

    static func runCalls(_ client: RPCClient, tasks: Int, callsPerTask: Int) async throws -> Int {
        try await withThrowingTaskGroup(of: Int.self) { group in
            for t in 0..<tasks {
                group.addTask {
                    var good = 0
                    for c in 0..<callsPerTask {
                        let call = t * callsPerTask + c
                        let sent = parts(for: call)
                        let reply = try await client.call(
                            TestServices.echo, request: EchoRequest(text: "call-\(call)"), as: EchoReply.self,
                            parts: sent, timeout: .seconds(20))
                        if reply.message.text == "call-\(call)", reply.parts.map(\.bytes) == sent.map(\.bytes) {
                            good += 1
                        }
                    }
                    return good
                }
            }
            return try await group.reduce(0, +)
        }
    }

    @Test func serverAnswersEveryCallWithItsOwnBytes() async throws {
        let server = try RPCServer(
            service: TestServices.router(), endpoint: "tcp://127.0.0.1:*", context: ZMQContext())
        defer { server.close() }
        let client = try RPCClient(endpoint: server.endpoint, context: ZMQContext())
        defer { client.close() }
        let good = try await ConcurrentPayloadTests.runCalls(client, tasks: 24, callsPerTask: 12)
        #expect(good == 24 * 12)
    }

    @Test func brokerAndTwoWorkersAnswerEveryCallWithItsOwnBytes() async throws {
        let broker = try Broker(
            clientEndpoint: "tcp://127.0.0.1:*", workerEndpoint: "tcp://127.0.0.1:*", context: ZMQContext(),
            configuration: BrokerConfiguration(isIdempotent: { _ in true }))
        defer { broker.close() }
        let workers = try ["A", "B"].map { name in
            try WorkerRuntime(
                brokerEndpoint: broker.workerEndpoint, service: TestServices.router(name: name),
                configuration: WorkerConfiguration(credit: 8, workerID: name))
        }
        defer { workers.forEach { $0.close() } }
        for _ in 0..<300 where await broker.stats().workers < 2 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(await broker.stats().workers == 2)
        let client = try RPCClient(endpoint: broker.clientEndpoint, context: ZMQContext())
        defer { client.close() }
        let good = try await ConcurrentPayloadTests.runCalls(client, tasks: 24, callsPerTask: 12)
        #expect(good == 24 * 12)
        #expect(await broker.stats().dispatched == 0)
    }
}
