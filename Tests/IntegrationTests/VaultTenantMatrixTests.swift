import AtRestClient
import AtRestCrypto
import AtRestIdentity
import AtRestKeyVault
import AtRestWire
import Testing

/// The tenant-isolation matrix of docs/KEY-PROVIDERS.md "Tenants", against a
/// real identity service and vault: every vault RPC, called on tenant acme's
/// customer key by each kind of caller, gets exactly the documented answer.
/// Callers from another tenant get NOT_FOUND for anything that names the key,
/// worded as for a key that does not exist.
@Suite(.serialized) struct VaultTenantMatrixTests {
    enum Caller: String, CaseIterable {
        /// acme's key administrator (the key's own tenant).
        case sameAdmin
        /// globex's key administrator.
        case otherAdmin
        /// A globex user without roles.
        case otherUser
        /// An acme user who reads account acct-a (an account reader, no key role).
        case reader
        /// The front door's service principal (system tenant, role `service`).
        case service
        /// The managed identity of acct-b, an account of globex.
        case otherIdentity
        /// The managed identity of acct-a, the account the key is granted to.
        case ownIdentity
    }

    /// An answer: a status code, and for OK whether the reply shows acme's key
    /// (`hidden`: answered, without anything of acme's).
    struct Answer: Equatable, CustomStringConvertible {
        var code: StatusCode
        var hidden = false
        var description: String { hidden ? "OK (nothing of acme's)" : "\(code)" }
    }
    static let ok = Answer(code: .ok), hidden = Answer(code: .ok, hidden: true)
    static let nf = Answer(code: .notFound), pd = Answer(code: .permissionDenied), fp = Answer(code: .failedPrecondition)

    /// RPC → answer per caller, in `Caller.allCases` order:
    /// sameAdmin, otherAdmin, otherUser, reader, service, otherIdentity, ownIdentity.
    static let matrix: [(rpc: String, answers: [Answer])] = [
        ("CreateKey (in acme)", [ok, pd, pd, pd, pd, pd, pd]),
        ("ImportKey (in acme)", [ok, pd, pd, pd, pd, pd, pd]),
        ("GetImportKey", [ok, ok, ok, ok, ok, ok, ok]),
        ("GetKey", [ok, nf, nf, pd, nf, nf, ok]),
        ("ListKeys", [ok, hidden, pd, pd, pd, pd, pd]),
        ("RotateKey", [ok, nf, nf, pd, nf, nf, pd]),
        ("DisableKey", [ok, nf, nf, pd, nf, nf, pd]),
        ("EnableKey", [ok, nf, nf, pd, nf, nf, pd]),
        ("DeleteKey", [ok, nf, nf, pd, nf, nf, pd]),
        ("RecoverKey", [ok, nf, nf, pd, nf, nf, pd]),
        ("PurgeKey (key not deleted)", [fp, nf, nf, pd, nf, nf, pd]),
        ("GrantAccess (to itself)", [ok, nf, nf, pd, nf, nf, pd]),
        ("ListGrants", [ok, nf, nf, pd, nf, nf, pd]),
        ("RevokeAccess (its own grant)", [ok, nf, nf, pd, nf, nf, pd]),
        ("Wrap", [pd, nf, nf, pd, nf, nf, ok]),
        ("GenerateWrappedKey", [pd, nf, nf, pd, nf, nf, ok]),
        ("Unwrap", [pd, nf, nf, pd, nf, nf, ok]),
        ("Rewrap", [pd, nf, nf, pd, nf, nf, ok]),
        ("KeyStatus", [ok, nf, nf, ok, nf, nf, ok]),
        ("RegisterReference", [pd, pd, pd, pd, ok, pd, pd]),
        ("UnregisterReference", [pd, pd, pd, pd, ok, pd, pd]),
        ("GetAuditLog", [ok, hidden, pd, pd, pd, pd, pd]),
        ("VerifyAuditLog", [ok, ok, pd, pd, pd, pd, pd]),
        ("AccountMoved (acct-a, to acme)", [pd, pd, pd, pd, ok, pd, pd]),
    ]

    @Test func everyVaultRPCGivesEachCallerItsDocumentedAnswer() async throws {
        let fixture = try await IdentityVaultFixture()
        defer { fixture.shutdown() }
        let identity = fixture.adminIdentity
        for tenant in ["acme", "globex"] { _ = try await identity.createTenant(tenant) }
        var tokens: [Caller: String] = [:]
        func user(_ caller: Caller, tenant: String, role: String?) async throws {
            let secret = "secret-\(caller.rawValue)-1"
            _ = try await identity.createUser(tenant: tenant, name: caller.rawValue, secret: secret)
            if let role { _ = try await identity.grantRole(IdentityRoleRequest(tenant: tenant, name: caller.rawValue, role: role)) }
            tokens[caller] = try await fixture.login(tenant: tenant, caller.rawValue, secret: secret)
        }
        try await user(.sameAdmin, tenant: "acme", role: "keyAdministrator")
        try await user(.otherAdmin, tenant: "globex", role: "keyAdministrator")
        try await user(.otherUser, tenant: "globex", role: nil)
        try await user(.reader, tenant: "acme", role: "accountReader:acct-a")
        tokens[.service] = try await fixture.login("frontdoor", secret: try IdentityVaultFixture.secret(fixture.directory, "frontdoor"))
        tokens[.otherIdentity] = try await fixture.managedIdentityToken(account: "acct-b", tenant: "globex").token
        let own = try await fixture.managedIdentityToken(account: "acct-a", tenant: "acme")
        tokens[.ownIdentity] = own.token
        var clients: [Caller: VaultClient] = [:]
        for caller in Caller.allCases { clients[caller] = try fixture.vaultClient(token: tokens[caller]) }
        defer { for client in clients.values { client.base.close() } }

        // acme's key, granted to acct-a's identity, with a wrapped account key and a registered reference.
        let admin = clients[.sameAdmin]!
        let key = try await admin.createKey(provider: "customer", KeySpec(keyID: "k1")).ref.unversioned
        _ = try await admin.grantAccess(AccessGrant(key: key, principalID: "", operations: [.wrap, .unwrap], accountID: "acct-a"))
        let context = Array("acct-a".utf8)
        let wrapped = try await clients[.ownIdentity]!.wrap(Array(repeating: 9, count: 32), with: key, context: context)
        _ = try await clients[.service]!.registerReference(wrapped.key)
        let importKey = try await admin.importPublicKey()

        var mismatches: [String] = []
        for (index, caller) in Caller.allCases.enumerated() {
            let vault = clients[caller]!
            let me = await principalID(tokens[caller]!, fixture)
            let name = "made-by-\(caller.rawValue)".lowercased()
            let calls: [(String, () async throws -> Bool)] = [
                ("CreateKey (in acme)", { _ = try await vault.createKey(provider: "customer", KeySpec(keyID: name), tenant: "acme"); return true }),
                ("ImportKey (in acme)", {
                    let envelope = try ImportEnvelope.seal(try SecretBytes(randomCount: 32), keyID: name + "-i", vaultPublicKey: importKey)
                    let request = ImportKeyRequest(create: CreateKeyRequest(provider: "customer", spec: KeySpec(keyID: name + "-i"), tenant: "acme"), envelope: envelope)
                    _ = try await vault.base.call(KeyVaultMethod.importKey, request)
                    return true
                }),
                ("GetImportKey", { try await vault.importPublicKey() == importKey }),
                ("GetKey", { try await vault.getKey(key).ref.unversioned == key }),
                ("ListKeys", { try await vault.listKeys().contains { $0.ref.unversioned == key } }),
                ("RotateKey", { try await vault.rotateKey(key).currentVersion > 1 }),
                ("DisableKey", { try await vault.change(.disable, key).state == .disabled }),
                ("EnableKey", { try await vault.change(.enable, key).state == .enabled }),
                ("DeleteKey", { try await vault.change(.delete, key).state == .deleted }),
                ("RecoverKey", { try await vault.change(.recover, key).state == .enabled }),
                ("PurgeKey (key not deleted)", { try await vault.purgeKey(key); return true }),
                ("GrantAccess (to itself)", {
                    try await vault.grantAccess(AccessGrant(key: key, principalID: me, operations: [.unwrap])).contains { $0.principalID == me }
                }),
                ("ListGrants", { try await vault.listGrants(key).contains { $0.principalID == own.principal } }),
                ("RevokeAccess (its own grant)", {
                    try await !vault.revokeAccess(AccessGrant(key: key, principalID: me, operations: [])).contains { $0.principalID == me }
                }),
                ("Wrap", { try await vault.wrap(Array(repeating: 1, count: 32), with: key, context: context).key.unversioned == key }),
                ("GenerateWrappedKey", { try await vault.generateWrappedKey(with: key, context: context).key.unversioned == key }),
                ("Unwrap", { try await vault.unwrap(wrapped.wrapped, context: context).plaintext == Array(repeating: 9, count: 32) }),
                ("Rewrap", { try await vault.rewrap(wrapped.wrapped, context: context).key.unversioned == key }),
                ("KeyStatus", { try await vault.keyStatus(key).key.unversioned == key }),
                ("RegisterReference", { try await vault.registerReference(wrapped.key) == 2 }),
                ("UnregisterReference", { try await vault.unregisterReference(wrapped.key) == 1 }),
                // A tenant also sees its own principals' calls, e.g. its failed tries on acme's key.
                ("GetAuditLog", { try await vault.auditLog().contains { $0.key.unversioned == key && $0.tenantID == "acme" } }),
                ("VerifyAuditLog", { try await vault.verifyAuditLog().intact }),
                // Where it already is: the record changes nothing for acct-a's tokens.
                ("AccountMoved (acct-a, to acme)", {
                    try await vault.accountMoved(VaultIdentityTenant(principalID: own.principal, accountID: "acct-a", tenant: "acme"))
                    return true
                }),
            ]
            #expect(calls.map(\.0) == Self.matrix.map(\.rpc))
            for ((rpc, call), row) in zip(calls, Self.matrix) {
                // An OK must also show what it should (ListKeys and GetAuditLog show
                // acme's key to acme's administrator only).
                let got: Answer
                do { got = try await call() ? Self.ok : Self.hidden } catch let status as RPCStatus { got = Answer(code: status.code) }
                if got != row.answers[index] { mismatches.append("\(rpc) as \(caller): \(got), documented \(row.answers[index])") }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
        // The key is still acme's, enabled, readable by its account.
        #expect(try await admin.getKey(key).state == .enabled)
        #expect(try await clients[.ownIdentity]!.unwrap(wrapped.wrapped, context: context).plaintext == Array(repeating: 9, count: 32))
    }

    @Test func anotherTenantsKeyIsWordedAsAKeyThatDoesNotExist() async throws {
        let fixture = try await IdentityVaultFixture()
        defer { fixture.shutdown() }
        for tenant in ["acme", "globex"] { _ = try await fixture.adminIdentity.createTenant(tenant) }
        let key = try await fixture.adminVault.createKey(provider: "customer", KeySpec(keyID: "k1"), tenant: "acme").ref.unversioned
        _ = try await fixture.adminIdentity.createUser(tenant: "globex", name: "gadmin", secret: "gadmin-secret-1")
        _ = try await fixture.adminIdentity.grantRole(IdentityRoleRequest(tenant: "globex", name: "gadmin", role: "keyAdministrator"))
        let globex = try fixture.vaultClient(token: try await fixture.login(tenant: "globex", "gadmin", secret: "gadmin-secret-1"))
        defer { globex.base.close() }
        let existing = await #expect(throws: RPCStatus.self) { _ = try await globex.change(.disable, key) }
        var absent = key
        absent.keyID = String(key.keyID.dropLast(2)) + "zz"
        let missing = await #expect(throws: RPCStatus.self) { _ = try await globex.change(.disable, absent) }
        #expect(existing?.code == .notFound && missing?.code == .notFound)
        #expect(existing?.message.split(separator: ".k1").joined() == missing?.message.split(separator: ".zz").joined())
        // globex's own k1 is another key.
        let theirs = try await globex.createKey(provider: "customer", KeySpec(keyID: "k1")).ref.unversioned
        #expect(theirs != key && theirs.named == key.named)
    }

    private func principalID(_ token: String, _ fixture: IdentityVaultFixture) async -> String {
        guard let client = try? fixture.identityClient(token: token) else { return "" }
        defer { client.base.close() }
        return (try? await client.whoAmI().principalID) ?? ""
    }
}
