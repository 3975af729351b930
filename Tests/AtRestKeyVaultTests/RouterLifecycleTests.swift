import AtRestCrypto
import AtRestKeyVault
import AtRestWire
import Testing

/// The customer-key life cycle through the RPC method table, as the socket
/// server will drive it: requests are protobuf bytes, callers come from the
/// bearer token (a fixed token table stands in for token verification).
@Suite struct RouterLifecycleTests {
    let fixture = VaultFixture(providers: [.managed(), .customer()])
    static let tokens = ["admin-token": VaultFixture.admin, "app-token": VaultFixture.app, "audit-token": VaultFixture.auditor,
                          "service-token": VaultFixture.service]

    func service() throws -> KeyVaultService {
        try KeyVaultService(config: fixture.config(), events: fixture.events) { header in
            guard let token = header.bearerToken, let caller = Self.tokens[token] else {
                throw RPCStatus(.unauthenticated, "missing or unknown token")
            }
            return caller
        }
    }

    func call<Reply: WireMessage>(_ service: KeyVaultService, _ verb: String, _ request: some WireMessage, as token: String) async throws -> Reply {
        let header = RPCHeader(method: KeyVaultMethod.service + "/" + verb, callID: try SecureRandom.bytes(16),
                               metadata: ["authorization": "Bearer \(token)"])
        let response = try await service.router.handle(RPCRequest(header: header, body: request.serialized()))
        return try Reply(serialized: response.body)
    }

    func status(_ body: () async throws -> Void) async -> RPCStatus? {
        do { try await body() } catch let status as RPCStatus { return status } catch { return RPCStatus(.unknown, "\(error)") }
        return nil
    }

    @Test func fullCustomerKeyLifeCycle() async throws {
        let vault = try service()
        let key = KeyRef(provider: "customer", keyID: "cmk-1")
        let created: KeyResponse = try await call(vault, "CreateKey", CreateKeyRequest(
            provider: "customer", spec: KeySpec(keyID: "cmk-1", retentionDays: 30, purgeProtection: true)), as: "admin-token")
        #expect(created.key.currentVersion == 1 && created.key.purgeProtection)

        // No grant yet: the error names the missing grant.
        let aek = try randomKey()
        let wrapRequest = WrapRequest(key: key, plaintext: aek.bytes, context: Array("acct-1".utf8))
        let denied = await status { let _: WrapResponse = try await call(vault, "Wrap", wrapRequest, as: "app-token") }
        #expect(denied?.code == .permissionDenied)
        #expect(denied?.message.contains("no 'wrap' grant on key customer/t") == true && denied?.message.contains(".cmk-1") == true)
        #expect(await status { let _: WrapResponse = try await call(vault, "Wrap", wrapRequest, as: "stolen") }?.code == .unauthenticated)

        let granted: AccessResponse = try await call(vault, "GrantAccess", AccessRequest(AccessGrant(
            key: key, principalID: VaultFixture.app.principalID, operations: [.wrap, .unwrap])), as: "admin-token")
        #expect(granted.grants.first?.operations == [.wrap, .unwrap])

        let wrapped: WrapResponse = try await call(vault, "Wrap", wrapRequest, as: "app-token")
        #expect(wrapped.key.named == KeyRef(provider: "customer", keyID: "cmk-1", version: 1))
        let refs: ReferenceResponse = try await call(vault, "RegisterReference", ReferenceRequest(wrapped.key), as: "service-token")
        #expect(refs.count == 1)
        let unwrapRequest = UnwrapRequest(wrapped: wrapped.wrapped, context: Array("acct-1".utf8))
        let unwrapped: UnwrapResponse = try await call(vault, "Unwrap", unwrapRequest, as: "app-token")
        #expect(unwrapped.plaintext == aek.bytes)

        // Rotate: old blobs still unwrap, new wraps use version 2.
        let rotated: KeyResponse = try await call(vault, "RotateKey", RotateKeyRequest(key), as: "admin-token")
        #expect(rotated.key.currentVersion == 2 && rotated.key.references == [1: 1])
        let again: UnwrapResponse = try await call(vault, "Unwrap", unwrapRequest, as: "app-token")
        #expect(again.key.version == 1)

        // Disable: unwrap refused with a message naming the key; enable restores it.
        let _: KeyResponse = try await call(vault, "DisableKey", KeyRequest(key), as: "admin-token")
        let disabled = await status { let _: UnwrapResponse = try await call(vault, "Unwrap", unwrapRequest, as: "app-token") }
        #expect(disabled?.code == .failedPrecondition)
        #expect(disabled?.message.contains(".cmk-1' is disabled") == true)
        #expect(disabled?.details["vault_code"] == "disabled")
        let _: KeyResponse = try await call(vault, "EnableKey", KeyRequest(key), as: "admin-token")
        let _: UnwrapResponse = try await call(vault, "Unwrap", unwrapRequest, as: "app-token")

        // Revoke unwrap access.
        let _: AccessResponse = try await call(vault, "RevokeAccess", AccessRequest(AccessGrant(
            key: key, principalID: VaultFixture.app.principalID, operations: [.unwrap])), as: "admin-token")
        let revoked = await status { let _: UnwrapResponse = try await call(vault, "Unwrap", unwrapRequest, as: "app-token") }
        #expect(revoked?.code == .permissionDenied)
        #expect(revoked?.message.contains("no 'unwrap' grant") == true)

        // Delete, purge refused while referenced, then while purge-protected.
        let deleted: KeyResponse = try await call(vault, "DeleteKey", KeyRequest(key), as: "admin-token")
        #expect(deleted.key.state == .deleted)
        let referenced = await status { let _: EmptyMessage = try await call(vault, "PurgeKey", KeyRequest(key), as: "admin-token") }
        #expect(referenced?.code == .failedPrecondition)
        #expect(referenced?.message.contains("still referenced by 1 wrapped account keys (version 1: 1)") == true)
        let _: ReferenceResponse = try await call(vault, "UnregisterReference", ReferenceRequest(wrapped.key), as: "service-token")
        let protected = await status { let _: EmptyMessage = try await call(vault, "PurgeKey", KeyRequest(key), as: "admin-token") }
        #expect(protected?.details["vault_code"] == "purgeProtected")
        let recovered: KeyResponse = try await call(vault, "RecoverKey", KeyRequest(key), as: "admin-token")
        #expect(recovered.key.state == .enabled)
        let _: KeyResponse = try await call(vault, "DeleteKey", KeyRequest(key), as: "admin-token")
        fixture.clock.advance(days: 30)
        let _: EmptyMessage = try await call(vault, "PurgeKey", KeyRequest(key), as: "admin-token")
        let gone = await status { let _: KeyResponse = try await call(vault, "GetKey", KeyRequest(key), as: "admin-token") }
        #expect(gone?.code == .notFound)

        #expect(fixture.events.kinds == [.created, .accessGranted, .rotated, .disabled, .enabled, .accessRevoked, .deleted, .recovered, .deleted, .purged])
        #expect(fixture.events.all.allSatisfy { $0.key.named.keyID == "cmk-1" })
        #expect(fixture.events.all[5].principalID == "acct-1-identity:unwrap")

        let audit: GetAuditLogResponse = try await call(vault, "GetAuditLog", GetAuditLogRequest(), as: "audit-token")
        #expect(audit.entries.count >= 20)
        let verified: VerifyAuditLogResponse = try await call(vault, "VerifyAuditLog", EmptyMessage(), as: "audit-token")
        #expect(verified.report.intact)
        #expect(verified.report.entries == UInt64(audit.entries.count))
    }

    @Test func importThroughTheRouterAndListKeys() async throws {
        let vault = try service()
        let publicKey: GetImportKeyResponse = try await call(vault, "GetImportKey", GetImportKeyRequest(), as: "admin-token")
        #expect(publicKey.publicKey.count == 32)
        let material = try randomKey()
        let envelope = try ImportEnvelope.seal(material, keyID: "byok", vaultPublicKey: publicKey.publicKey)
        let imported: KeyResponse = try await call(vault, "ImportKey", ImportKeyRequest(
            create: CreateKeyRequest(provider: "customer", spec: KeySpec(keyID: "byok")), envelope: envelope), as: "admin-token")
        #expect(imported.key.imported)
        let _: KeyResponse = try await call(vault, "CreateKey", CreateKeyRequest(provider: "managed", spec: KeySpec(keyID: "acct-7")), as: "admin-token")
        let listed: ListKeysResponse = try await call(vault, "ListKeys", ListKeysRequest(), as: "audit-token")
        #expect(listed.keys.map { "\($0.provider)/\($0.ref.named.keyID)" } == ["customer/byok", "managed/acct-7"])
        #expect(listed.keys[1].rotationDays == 90)
        let unknown = await status { let _: KeyResponse = try await call(vault, "GetKey", KeyRequest(KeyRef(provider: "hsm", keyID: "x")), as: "admin-token") }
        #expect(unknown?.code == .notFound && unknown?.message.contains("provider 'hsm' is not loaded") == true)
        let bad = await status {
            _ = try await vault.router.handle(RPCRequest(header: RPCHeader(method: KeyVaultMethod.service + "/" + "Wrap", metadata: ["authorization": "Bearer app-token"]), body: [0xff, 0x01]))
        }
        #expect(bad?.code == .invalidArgument)
    }
}
