import AtRestMessaging
import AtRestWire
import Testing

@Suite("RPC server and client over inproc")
struct RPCRoundTripTests {
    @Test func typedCallWithPayloadRoundTrips() async throws {
        let server = try RPCServer(service: TestServices.router(), endpoint: TestServices.inproc("rt"))
        defer { server.close() }
        let client = try RPCClient(endpoint: server.endpoint)
        defer { client.close() }
        let big = [UInt8]((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let reply = try await client.call(
            TestServices.echo, request: EchoRequest(text: "hello"), as: EchoReply.self, payload: [[1, 2, 3], big])
        #expect(reply.message.text == "hello")
        #expect(reply.message.servedBy == "test")
        #expect(reply.payload == [[1, 2, 3], big])
    }

    @Test func tcpEphemeralPortIsReadBack() async throws {
        let server = try RPCServer(service: TestServices.router(), endpoint: "tcp://127.0.0.1:*")
        defer { server.close() }
        #expect(server.endpoint.hasPrefix("tcp://127.0.0.1:"))
        #expect(!server.endpoint.hasSuffix(":*"))
        let client = try RPCClient(endpoint: server.endpoint)
        defer { client.close() }
        let reply = try await client.call(TestServices.echo, request: EchoRequest(text: "tcp"), as: EchoReply.self)
        #expect(reply.message.text == "tcp")
    }

    @Test func manyConcurrentCallsAreMatchedByCallID() async throws {
        let server = try RPCServer(service: TestServices.router(), endpoint: TestServices.inproc("conc"))
        defer { server.close() }
        let client = try RPCClient(endpoint: server.endpoint)
        defer { client.close() }
        let texts = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for i in 0..<200 {
                group.addTask {
                    // Reverse delays so replies come back out of order.
                    let reply = try await client.call(
                        TestServices.echo, request: EchoRequest(text: "call-\(i)", delayMs: UInt32(200 - i) % 20),
                        as: EchoReply.self)
                    return (i, reply.message.text)
                }
            }
            var all: [Int: String] = [:]
            for try await (i, text) in group { all[i] = text }
            return all
        }
        #expect(texts.count == 200)
        for (i, text) in texts { #expect(text == "call-\(i)") }
    }

    @Test func slowHandlerGetsDeadlineExceeded() async throws {
        let server = try RPCServer(service: TestServices.router(), endpoint: TestServices.inproc("dl"))
        defer { server.close() }
        let client = try RPCClient(endpoint: server.endpoint)
        defer { client.close() }
        let error = await #expect(throws: RPCStatus.self) {
            _ = try await client.call(
                TestServices.echo, request: EchoRequest(text: "slow", delayMs: 5_000), as: EchoReply.self,
                timeout: .milliseconds(150))
        }
        #expect(error?.code == .deadlineExceeded)
        // The server is still fine afterwards.
        let reply = try await client.call(TestServices.echo, request: EchoRequest(text: "after"), as: EchoReply.self)
        #expect(reply.message.text == "after")
    }

    @Test func clientDeadlineHoldsWithoutAnyServer() async throws {
        let client = try RPCClient(
            endpoint: "tcp://127.0.0.1:1", configuration: RPCClientConfiguration(retry: .none))
        defer { client.close() }
        let error = await #expect(throws: RPCStatus.self) {
            _ = try await client.call(
                TestServices.echo, request: EchoRequest(text: "nobody"), as: EchoReply.self, timeout: .milliseconds(100))
        }
        #expect(error?.code == .deadlineExceeded)
    }

    @Test func unknownMethodIsUnimplemented() async throws {
        let server = try RPCServer(service: TestServices.router(), endpoint: TestServices.inproc("um"))
        defer { server.close() }
        let client = try RPCClient(endpoint: server.endpoint)
        defer { client.close() }
        let error = await #expect(throws: RPCStatus.self) {
            _ = try await client.call("atrest.v1.Nope/Nothing", request: EchoRequest(text: ""), as: EchoReply.self)
        }
        #expect(error?.code == .unimplemented)
    }

    @Test func handlerStatusPassesAndOtherErrorsBecomeInternal() async throws {
        let server = try RPCServer(service: TestServices.router(), endpoint: TestServices.inproc("err"))
        defer { server.close() }
        let client = try RPCClient(endpoint: server.endpoint)
        defer { client.close() }
        let refused = await #expect(throws: RPCStatus.self) {
            _ = try await client.call(TestServices.fail, request: EchoRequest(text: "x"), as: EchoReply.self)
        }
        #expect(refused == RPCStatus(.failedPrecondition, "refused: x"))
        let crashed = await #expect(throws: RPCStatus.self) {
            _ = try await client.call(TestServices.crash, request: EchoRequest(text: "x"), as: EchoReply.self)
        }
        #expect(crashed?.code == .internal)
        #expect(crashed?.message.contains("HiddenDetail") == false)
    }

    @Test func badBodyIsInvalidArgument() async throws {
        let server = try RPCServer(service: TestServices.router(), endpoint: TestServices.inproc("body"))
        defer { server.close() }
        let client = try RPCClient(endpoint: server.endpoint)
        defer { client.close() }
        let error = await #expect(throws: RPCStatus.self) {
            _ = try await client.call(TestServices.echo, body: [0xFF, 0xFF, 0xFF])
        }
        #expect(error?.code == .invalidArgument)
    }

    @Test func cancellingACallEndsItPromptly() async throws {
        // The handler says when the call has reached it, so the cancel lands mid-call.
        let (started, handlerStarted) = AsyncStream<Void>.makeStream()
        var router = RPCRouter()
        router.register(TestServices.echo, EchoRequest.self) { (request: EchoRequest, _: RPCContext) async throws -> EchoReply in
            handlerStarted.yield()
            try await Task.sleep(for: .milliseconds(Int(request.delayMs)))
            return EchoReply(text: request.text, servedBy: "slow")
        }
        let server = try RPCServer(service: router, endpoint: TestServices.inproc("cancel"))
        defer { server.close() }
        let client = try RPCClient(endpoint: server.endpoint)
        defer { client.close() }
        let task = Task {
            try await client.call(TestServices.echo, request: EchoRequest(text: "c", delayMs: 10_000), as: EchoReply.self)
        }
        var waiting = started.makeAsyncIterator()
        _ = await waiting.next()
        let cancelled = ContinuousClock.now
        task.cancel()
        await #expect(throws: CancellationError.self) { _ = try await task.value }
        #expect(ContinuousClock.now - cancelled < .seconds(5), "the call ended with the cancel, not with the handler's 10 s")
    }
}
