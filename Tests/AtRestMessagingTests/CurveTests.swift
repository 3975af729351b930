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

    /// A refusal reaches every new client, also one whose handshake ends
    /// before its first call is sent: the monitor watches the socket
    /// before it connects (libzmq does not retry a refused handshake, so a
    /// refusal the monitor missed would leave each call to its deadline).
    /// 40 fresh clients, each made and called at once. (With the monitor
    /// attached after the connect, 2-5 of 40 waited for their deadline in 3
    /// of 5 runs beside two CPU-bound threads; those threads are not kept
    /// here, as they would slow the suites that run beside this one.)
    @Test func everyRefusedClientLearnsItAtOnce() async throws {
        let serverKeys = try CurveKeyPair.generate()
        let server = try RPCServer(
            service: TestServices.router(), endpoint: "tcp://127.0.0.1:*",
            configuration: RPCServerConfiguration(
                curve: CurveServerConfiguration(keyPair: serverKeys, allowedClientKeys: [try CurveKeyPair.generate().publicKey])))
        defer { server.close() }
        for round in 0..<40 {
            let stranger = try RPCClient(endpoint: server.endpoint, configuration: RPCClientConfiguration(
                retry: .none, curve: CurveClientConfiguration(serverPublicKey: serverKeys.publicKey, keyPair: try CurveKeyPair.generate())))
            defer { stranger.close() }
            let error = await #expect(throws: RPCStatus.self) {
                _ = try await stranger.call(TestServices.echo, request: EchoRequest(text: "round \(round)"), as: EchoReply.self,
                                            timeout: .seconds(5))
            }
            #expect(error?.code == .unauthenticated, "round \(round): \(String(describing: error))")
        }
    }
}
