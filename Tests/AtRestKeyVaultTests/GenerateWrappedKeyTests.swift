import AtRestCrypto
import AtRestKeyVault
import AtRestWire
import Testing

/// GenerateWrappedKey: the vault makes the account key and hands out only
/// its wrapped form, with the checks, rotation and audit of Wrap.
@Suite struct GenerateWrappedKeyTests {
    let fixture = VaultFixture(providers: [.managed(config: "rotation_days=30"), .customer()])
    let key = KeyRef(provider: "customer", keyID: "k1")
    static let context = Array("acct-1".utf8)
    /// Holds only a wrap grant: enough to generate, not to unwrap.
    static let creator = VaultCaller(principalID: "frontdoor-as-identity", tenantID: "t1")

    func vaultWithKey() throws -> KeyVault {
        let vault = try fixture.openVault()
        _ = try vault.createKey(provider: key.provider, KeySpec(keyID: key.keyID), caller: VaultFixture.admin)
        try fixture.grantApp(vault, key)
        _ = try vault.grantAccess(AccessGrant(key: key, principalID: Self.creator.principalID, operations: [.wrap]), caller: VaultFixture.admin)
        return vault
    }

    @Test func aWrapGrantSufficesAndTheKeyUnwrapsTo32BytesForAnUnwrapGrant() throws {
        let vault = try vaultWithKey()
        let wrapped = try vault.generateWrappedKey(with: key, context: Self.context, caller: Self.creator, callID: [0x9e])
        #expect(wrapped.key.named == KeyRef(provider: "customer", keyID: "k1", version: 1))
        #expect(wrapped.checkValue.count == 16)
        let (secret, ref) = try vault.unwrap(wrapped.serialized, context: Self.context, caller: VaultFixture.app)
        #expect(secret.count == KeyVault.generatedKeyLength && KeyVault.generatedKeyLength == 32)
        #expect(ref == wrapped.key)
        #expect(secret.bytes != [UInt8](repeating: 0, count: 32))
        // The wrap-only creator cannot read the key it had made.
        #expect(vaultError { _ = try vault.unwrap(wrapped.serialized, context: Self.context, caller: Self.creator) }?.code == .permissionDenied)
        // The context is bound to the blob, as with Wrap.
        #expect(vaultError { _ = try vault.unwrap(wrapped.serialized, context: Array("acct-2".utf8), caller: VaultFixture.app) }?.code == .corrupt)
    }

    @Test func twoCallsGiveDifferentKeys() throws {
        let vault = try vaultWithKey()
        let first = try vault.generateWrappedKey(with: key, context: Self.context, caller: Self.creator)
        let second = try vault.generateWrappedKey(with: key, context: Self.context, caller: Self.creator)
        #expect(first.serialized != second.serialized)
        let a = try vault.unwrap(first.serialized, context: Self.context, caller: VaultFixture.app).key
        let b = try vault.unwrap(second.serialized, context: Self.context, caller: VaultFixture.app).key
        #expect(a != b)
    }

    @Test func withoutAWrapGrantItIsDenied() throws {
        let vault = try vaultWithKey()
        let stranger = VaultCaller(principalID: "mallory", tenantID: "t1")
        let denied = vaultError { _ = try vault.generateWrappedKey(with: key, caller: stranger) }
        #expect(denied?.code == .permissionDenied)
        #expect(denied?.message.contains("no 'wrap' grant on key customer/t") == true && denied?.message.contains(".k1") == true)
        #expect(denied?.rpcStatus.code == .permissionDenied)
        // An unwrap grant alone is not a wrap grant.
        _ = try vault.grantAccess(AccessGrant(key: key, principalID: "reader", operations: [.unwrap]), caller: VaultFixture.admin)
        let reader = VaultCaller(principalID: "reader", tenantID: "t1")
        #expect(vaultError { _ = try vault.generateWrappedKey(with: key, caller: reader) }?.code == .permissionDenied)
    }

    @Test func aDisabledOrUnknownKeyFailsAsWrapFails() throws {
        let vault = try vaultWithKey()
        _ = try vault.setEnabled(key, false, caller: VaultFixture.admin)
        let generate = vaultError { _ = try vault.generateWrappedKey(with: key, caller: Self.creator) }
        let wrap = vaultError { _ = try vault.wrap(try randomKey(), with: key, caller: Self.creator) }
        #expect(generate?.code == .disabled)
        #expect(generate == wrap)
        #expect(generate?.rpcStatus.code == .failedPrecondition)
        _ = try vault.setEnabled(key, true, caller: VaultFixture.admin)
        _ = try vault.generateWrappedKey(with: key, caller: Self.creator)

        // An unknown key has no grants, so both refuse at the grant check.
        let missing = KeyRef(provider: "hsm", keyID: "k1")
        let generateMissing = vaultError { _ = try vault.generateWrappedKey(with: missing, caller: VaultFixture.admin) }
        let wrapMissing = vaultError { _ = try vault.wrap(try randomKey(), with: missing, caller: VaultFixture.admin) }
        #expect(generateMissing?.code == .permissionDenied && generateMissing == wrapMissing)
    }

    @Test func aKeyDueForRotationIsRotatedFirst() throws {
        let vault = try fixture.openVault()
        let managed = KeyRef(provider: "managed", keyID: "acct-1")
        _ = try vault.createKey(provider: "managed", KeySpec(keyID: "acct-1"), caller: VaultFixture.admin)
        try fixture.grantApp(vault, managed)
        #expect(try vault.generateWrappedKey(with: managed, caller: VaultFixture.app).key.version == 1)
        fixture.clock.advance(days: 30)
        let rotated = try vault.generateWrappedKey(with: managed, caller: VaultFixture.app)
        #expect(rotated.key.version == 2)
        #expect(try vault.unwrap(rotated.serialized, caller: VaultFixture.app).key.count == 32)
        #expect(fixture.events.kinds.contains(.rotated))
    }

    @Test func everyCallIsAuditedAndNoKeyBytesAreWrittenAnywhere() throws {
        let vault = try vaultWithKey()
        let wrapped = try vault.generateWrappedKey(with: key, context: Self.context, caller: Self.creator, callID: [0xab, 0xcd])
        _ = vaultError { _ = try vault.generateWrappedKey(with: key, caller: VaultCaller(principalID: "mallory", tenantID: "t1")) }
        let secret = try vault.unwrap(wrapped.serialized, context: Self.context, caller: VaultFixture.app).key.bytes
        try vault.close()

        let entries = try vault.auditEntries(caller: VaultFixture.auditor).filter { $0.operation == "GenerateWrappedKey" }
        #expect(entries.map(\.result) == ["ok", "permissionDenied"])
        let ok = try #require(entries.first)
        #expect(ok.principalID == Self.creator.principalID && ok.tenantID == "t1")
        #expect(ok.key.named == KeyRef(provider: "customer", keyID: "k1", version: 1))
        #expect(ok.callID == [0xab, 0xcd])
        #expect(try vault.verifyAuditLog(caller: VaultFixture.auditor).intact)

        let hex = Hex.encode(secret)
        for entry in entries { #expect(!entry.detail.contains(hex) && !Array(entry.detail.utf8).contains(subsequence: secret)) }
        for (path, bytes) in fixture.dataFiles() {
            #expect(!bytes.contains(subsequence: secret), "key bytes in \(path)")
            #expect(!bytes.contains(subsequence: Array(hex.utf8)), "hex key bytes in \(path)")
        }
    }
}

/// The same method over the RPC table: the reply is a WrapResponse and
/// carries no plaintext.
@Suite struct GenerateWrappedKeyRouterTests {
    let fixture = VaultFixture(providers: [.customer()])

    func call<Reply: WireMessage>(_ service: KeyVaultService, _ verb: String, _ request: some WireMessage, as caller: String) async throws -> (Reply, [UInt8]) {
        let header = RPCHeader(method: KeyVaultMethod.service + "/" + verb, callID: try SecureRandom.bytes(16), metadata: ["authorization": "Bearer \(caller)"])
        let response = try await service.router.handle(RPCRequest(header: header, body: request.serialized()))
        return (try Reply(serialized: response.body), response.body)
    }

    @Test func theReplyIsOnlyTheWrappedKey() async throws {
        let callers = ["admin": VaultFixture.admin, "app": VaultFixture.app, "nobody": VaultCaller(principalID: "nobody")]
        let service = try KeyVaultService(config: fixture.config(), events: fixture.events) { header in
            guard let token = header.bearerToken, let caller = callers[token] else { throw RPCStatus(.unauthenticated, "unknown token") }
            return caller
        }
        let key = KeyRef(provider: "customer", keyID: "k1")
        _ = try service.vault.createKey(provider: "customer", KeySpec(keyID: "k1"), caller: VaultFixture.admin)
        try fixture.grantApp(service.vault, key)

        let request = GenerateWrappedKeyRequest(key: KeyRef(provider: "customer", keyID: "k1", version: 7), context: [1, 2, 3])
        #expect(request.key.version == 0)
        #expect(try GenerateWrappedKeyRequest(serialized: request.serialized()) == request)

        let (reply, body): (WrapResponse, [UInt8]) = try await call(service, "GenerateWrappedKey", request, as: "app")
        #expect(reply.key.named == KeyRef(provider: "customer", keyID: "k1", version: 1))
        #expect(try WrappedKey(parsing: reply.wrapped).checkValue == reply.checkValue)
        let (plain, _): (UnwrapResponse, [UInt8]) = try await call(service, "Unwrap", UnwrapRequest(wrapped: reply.wrapped, context: [1, 2, 3]), as: "app")
        #expect(plain.plaintext.count == 32)
        #expect(!body.contains(subsequence: plain.plaintext))

        do {
            let _: (WrapResponse, [UInt8]) = try await call(service, "GenerateWrappedKey", request, as: "nobody")
            Issue.record("a caller without a wrap grant generated a key")
        } catch let status as RPCStatus {
            #expect(status.code == .permissionDenied && status.details["vault_code"] == "permissionDenied")
        }
    }
}
