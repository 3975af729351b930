import AtRestMessaging
import AtRestWire
import Testing

@Suite("Handlers started on the loop thread")
struct InlineHandlerTests {
    /// Quick handlers answer inline, suspending ones finish from the pool,
    /// failures still map to their status, and payload survives both ways.
    @Test func inlineHandlersAnswerQuickSuspendingAndFailingCalls() async throws {
        var configuration = RPCServerConfiguration()
        configuration.runsHandlersInline = true
        let server = try RPCServer(
            service: TestServices.router(), endpoint: TestServices.inproc("inline"), configuration: configuration)
        defer { server.close() }
        let client = try RPCClient(endpoint: server.endpoint)
        defer { client.close() }
        let quick = try await client.call(
            TestServices.echo, request: EchoRequest(text: "now"), as: EchoReply.self, payload: [[1, 2, 3]])
        #expect(quick.message.text == "now")
        #expect(quick.payload == [[1, 2, 3]])
        async let slow = client.call(TestServices.echo, request: EchoRequest(text: "later", delayMs: 50), as: EchoReply.self)
        let meanwhile = try await client.call(TestServices.echo, request: EchoRequest(text: "meanwhile"), as: EchoReply.self)
        #expect(meanwhile.message.text == "meanwhile")
        #expect(try await slow.message.text == "later")
        let error = await #expect(throws: RPCStatus.self) {
            _ = try await client.call(TestServices.fail, request: EchoRequest(text: "x"), as: EchoReply.self)
        }
        #expect(error != nil && error?.code != .ok)
    }
}
