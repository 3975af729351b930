import AtRestKeyVault
import AtRestMessaging
import AtRestRuntime
import AtRestTokens
import AtRestWire
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// `KeyVaultServer`, the wiring `atrest-keyvault` runs, built in-process:
/// endpoints bound, status figures served, every vault call authenticated
/// against the identity's key set, and a graceful shutdown that closes the
/// endpoint and anchors the audit log.
@Suite struct KeyVaultServerTests {
    @Test func theVaultTheExecutableRunsIsBuiltServedAndStoppedInProcess() async throws {
        let fixture = VaultFixture(providers: [.managed()])
        var configuration = fixture.config()
        configuration.endpoint = "tcp://127.0.0.1:*"
        configuration.eventsEndpoint = "tcp://127.0.0.1:*"
        let keySetFetches = Atomic(0)
        let identity = KeyVaultIdentity(keySet: {
            keySetFetches.add(1, ordering: .relaxed)
            return IdentityKeySet(keys: [], issuer: "test-issuer", activeKid: "")
        }, resolveAccount: nil)
        let server = try await KeyVaultServer.build(configuration, identity: identity)
        #expect(keySetFetches.load(ordering: .relaxed) == 1, "the authenticator fetches the key set once at start")

        let ready = try #require(ReadyLine.parse(server.readyLine))
        #expect(ready.name == "atrest-keyvault")
        #expect(ready.fields["endpoint"] == server.server.endpoint)
        #expect(ready.fields["events"] == server.publisher.endpoint)

        let client = try RPCClient(endpoint: server.server.endpoint)
        defer { client.close() }
        let status = try await client.call(StatusMethod.get.name, request: StatusRequest(), as: StatusReply.self).message
        #expect(status.service == "atrest-keyvault")
        #expect(status.figures.contains { $0.name == "key_status_summaries" })
        // No token, and a token no key of the set signed: both refused before the vault sees the call.
        for metadata in [[:], ["authorization": "Bearer not.a.token"]] {
            do {
                _ = try await client.call(KeyVaultMethod.listKeys.name, request: ListKeysRequest(), as: ListKeysResponse.self,
                                          metadata: metadata)
                Issue.record("ListKeys answered with metadata \(metadata)")
            } catch let error as RPCStatus {
                #expect(error.code == .unauthenticated, "\(error)")
            }
        }

        // A key (anchored at once, a key-management operation) and a wrap (audited, not yet anchored).
        let key = KeyRef(provider: "managed", keyID: "acct-1")
        _ = try server.vault.createKey(provider: "managed", KeySpec(keyID: "acct-1"), caller: VaultFixture.admin)
        try fixture.grantApp(server.vault, key)
        _ = try server.vault.wrap(try randomKey(), with: key, caller: VaultFixture.app)
        let anchor = fixture.dataDirectory + "/audit.log.head"
        let anchoredBefore = fixture.dataFiles().first { $0.0 == anchor }?.1
        let group = ServiceGroup(services: [server], logger: Logger(label: "test"))
        async let run: Void = group.run()
        await group.triggerGracefulShutdown()
        try await run
        // Closed: the audit log was anchored on the way out, and the endpoint no longer answers.
        #expect(fixture.dataFiles().first { $0.0 == anchor }?.1 != anchoredBefore)
        await #expect(throws: RPCStatus.self) {
            _ = try await client.call(StatusMethod.get.name, request: StatusRequest(), as: StatusReply.self, timeout: .milliseconds(300))
        }
    }
}
