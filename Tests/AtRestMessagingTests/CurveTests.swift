import AtRestMessaging
import AtRestWire
import Testing

@Suite("CURVE with a fail-closed ZAP handler")
struct CurveTests {
    @Test func keyPairsAreFreshAndPrintNoSecret() throws {
        let a = try CurveKeyPair.generate()
        let b = try CurveKeyPair.generate()
        #expect(a.publicKey.utf8.count == 40)
        #expect(a.publicKey != b.publicKey)
        #expect(!"\(a)".contains(a.exportSecretKey()))
        let again = try CurveKeyPair(publicKey: a.publicKey, secretKey: a.exportSecretKey())
        #expect(again.exportSecretKey() == a.exportSecretKey())
        #expect(throws: MessagingError.self) { try CurveKeyPair(publicKey: "short", secretKey: "short") }
    }

    @Test func onlyAllowedClientKeysGetThrough() async throws {
        let serverKeys = try CurveKeyPair.generate()
        let allowed = try CurveKeyPair.generate()
        let stranger = try CurveKeyPair.generate()
        let server = try RPCServer(
            service: TestServices.router(), endpoint: "tcp://127.0.0.1:*",
            configuration: RPCServerConfiguration(
                curve: CurveServerConfiguration(keyPair: serverKeys, allowedClientKeys: [allowed.publicKey])))
        defer { server.close() }

        let good = try RPCClient(endpoint: server.endpoint, configuration: RPCClientConfiguration(
            curve: CurveClientConfiguration(serverPublicKey: serverKeys.publicKey, keyPair: allowed)))
        defer { good.close() }
        let reply = try await good.call(
            TestServices.echo, request: EchoRequest(text: "secret handshake"), as: EchoReply.self,
            timeout: .seconds(5))
        #expect(reply.message.text == "secret handshake")

        let bad = try RPCClient(endpoint: server.endpoint, configuration: RPCClientConfiguration(
            retry: .none, curve: CurveClientConfiguration(serverPublicKey: serverKeys.publicKey, keyPair: stranger)))
        defer { bad.close() }
        let error = await #expect(throws: RPCStatus.self) {
            _ = try await bad.call(
                TestServices.echo, request: EchoRequest(text: "let me in"), as: EchoReply.self,
                timeout: .milliseconds(500))
        }
        // The handshake monitor turns the refusal into a clear status.
        #expect(error?.code == .unauthenticated)
        #expect(error?.message.contains("refused") == true)

        // A plain (non-CURVE) client gets nothing through either.
        let plain = try RPCClient(endpoint: server.endpoint, configuration: RPCClientConfiguration(retry: .none))
        defer { plain.close() }
        let plainError = await #expect(throws: RPCStatus.self) {
            _ = try await plain.call(
                TestServices.echo, request: EchoRequest(text: "plain"), as: EchoReply.self, timeout: .milliseconds(300))
        }
        #expect(plainError?.code != .ok)
    }
}
