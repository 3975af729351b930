import AtRestCrypto
import AtRestKeyVault
import AtRestWire
import Testing

/// Keys belong to tenants (docs/KEY-PROVIDERS.md "Tenants"): names are per
/// tenant, another tenant's key answers NOT_FOUND to everything, managed keys
/// are the service's, only the system administrator crosses tenants (audited).
@Suite struct TenantIsolationTests {
    static let adminA = VaultCaller(principalID: "alice", tenantID: "acme", roles: ["vault.admin"])
    static let adminB = VaultCaller(principalID: "bob", tenantID: "globex", roles: ["vault.admin"])
    static let userB = VaultCaller(principalID: "bert", tenantID: "globex")
    static let identityB = VaultCaller(principalID: "mi-b", tenantID: "globex", accountID: "acct-b")
    static let identityA = VaultCaller(principalID: "mi-a", tenantID: "acme", accountID: "acct-a")
    static let system = VaultCaller(principalID: "root", tenantID: "system", roles: ["vault.admin"])

    let fixture = VaultFixture(providers: [.managed(), .customer()])

    /// Tenant A's customer key `k1`, usable by A's account identity.
    func setUp() throws -> (KeyVault, KeyRef) {
        let vault = try fixture.openVault()
        let key = try vault.createKey(provider: "customer", KeySpec(keyID: "k1"), caller: Self.adminA).ref.unversioned
        _ = try vault.grantAccess(AccessGrant(key: key, principalID: Self.identityA.principalID, operations: [.wrap, .unwrap]), caller: Self.adminA)
        return (vault, key)
    }

    @Test func twoTenantsMayBothHaveAKeyNamedK1() throws {
        let (vault, a) = try setUp()
        let b = try vault.createKey(provider: "customer", KeySpec(keyID: "k1"), caller: Self.adminB).ref.unversioned
        #expect(a != b && a.named == b.named)
        #expect(a.keyID.hasSuffix(".k1") && a.keyID.count == 16)
        // Each tenant's plain name resolves to its own key.
        #expect(try vault.getKey(KeyRef(provider: "customer", keyID: "k1"), caller: Self.adminA).ref.unversioned == a)
        #expect(try vault.getKey(KeyRef(provider: "customer", keyID: "k1"), caller: Self.adminB).ref.unversioned == b)
        #expect(try vault.listKeys(caller: Self.adminA).map(\.ref.unversioned) == [a])
        #expect(try vault.listKeys(caller: Self.adminB).map(\.ref.unversioned) == [b])
        // Disabling B's k1 leaves A's alone.
        _ = try vault.setEnabled(b, false, caller: Self.adminB)
        #expect(try vault.getKey(a, caller: Self.adminA).state == .enabled)
    }

    @Test func anotherTenantsKeyIsNotFoundForEveryOperation() throws {
        let (vault, key) = try setUp()
        let wrapped = try vault.wrap(try SecretBytes(randomCount: 32), with: key, caller: Self.identityA).serialized
        let missing = KeyRef(provider: "customer", keyID: String(key.keyID.dropLast(2)) + "k9")
        let expected = vaultError { _ = try vault.getKey(missing, caller: Self.adminA) }
        #expect(expected?.code == .notFound)
        for caller in [Self.adminB, Self.userB, Self.identityB] {
            let attempts: [(String, () throws -> Void)] = [
                ("get", { _ = try vault.getKey(key, caller: caller) }),
                ("rotate", { _ = try vault.rotateKey(key, caller: caller) }),
                ("disable", { _ = try vault.setEnabled(key, false, caller: caller) }),
                ("enable", { _ = try vault.setEnabled(key, true, caller: caller) }),
                ("delete", { _ = try vault.deleteKey(key, caller: caller) }),
                ("recover", { _ = try vault.recoverKey(key, caller: caller) }),
                ("purge", { try vault.purgeKey(key, caller: caller) }),
                ("grant", { _ = try vault.grantAccess(AccessGrant(key: key, principalID: caller.principalID, operations: [.unwrap]), caller: caller) }),
                ("revoke", { _ = try vault.revokeAccess(AccessGrant(key: key, principalID: Self.identityA.principalID, operations: []), caller: caller) }),
                ("grants", { _ = try vault.listGrants(key, caller: caller) }),
                ("status", { _ = try vault.keyStatus(key, caller: caller) }),
                ("wrap", { _ = try vault.wrap(try SecretBytes(randomCount: 32), with: key, caller: caller) }),
                ("generate", { _ = try vault.generateWrappedKey(with: key, caller: caller) }),
                ("unwrap", { _ = try vault.unwrap(wrapped, caller: caller) }),
                ("rewrap", { _ = try vault.rewrap(wrapped, caller: caller) }),
            ]
            for (name, attempt) in attempts {
                let error = vaultError(attempt)
                #expect(error?.code == .notFound, "\(caller) \(name): \(String(describing: error))")
                // Worded as for a key that does not exist: nothing leaks.
                #expect(error?.message == expected?.message.split(separator: ".k9", omittingEmptySubsequences: false).joined(separator: ".k1"), "\(name)")
            }
        }
        // Nothing changed, and A still uses its key.
        #expect(try vault.getKey(key, caller: Self.adminA).state == .enabled)
        #expect(try vault.listGrants(key, caller: Self.adminA).map(\.principalID) == [Self.identityA.principalID])
        #expect(try vault.unwrap(wrapped, caller: Self.identityA).ref.unversioned == key)
    }

    /// A grant lets a principal use a key of its own tenant; it never makes
    /// another tenant's administrator an administrator of the key, and a grant
    /// by principal id is bound to the key's tenant whatever tenant the request
    /// claims (security review, session 13).
    @Test func aGrantGivesAnotherTenantsPrincipalNeitherManagementNorUse() throws {
        let (vault, key) = try setUp()
        _ = try vault.grantAccess(AccessGrant(key: key, principalID: Self.adminB.principalID, operations: [.wrap, .unwrap], tenant: "globex"),
                                  caller: Self.adminA)
        let attempts: [(String, () throws -> Void)] = [
            ("rotate", { _ = try vault.rotateKey(key, caller: Self.adminB) }),
            ("disable", { _ = try vault.setEnabled(key, false, caller: Self.adminB) }),
            ("delete", { _ = try vault.deleteKey(key, caller: Self.adminB) }),
            ("purge", { try vault.purgeKey(key, caller: Self.adminB) }),
            ("grant", { _ = try vault.grantAccess(AccessGrant(key: key, principalID: "bert", operations: [.unwrap]), caller: Self.adminB) }),
            ("revoke", { _ = try vault.revokeAccess(AccessGrant(key: key, principalID: Self.identityA.principalID, operations: []), caller: Self.adminB) }),
            ("grants", { _ = try vault.listGrants(key, caller: Self.adminB) }),
        ]
        for (name, attempt) in attempts {
            let error = vaultError(attempt)
            #expect(error?.code == .notFound, "\(name): \(String(describing: error))")
        }
        // Nor can it use the key: the grant holds in acme only.
        let refused = vaultError { _ = try vault.wrap(try SecretBytes(randomCount: 32), with: key, caller: Self.adminB) }
        #expect(refused?.code == .permissionDenied && refused?.message.contains("in its tenant 'globex'") == true, "\(String(describing: refused))")
        // A principal of acme granted by id uses it.
        let userA = VaultCaller(principalID: "ann", tenantID: "acme")
        _ = try vault.grantAccess(AccessGrant(key: key, principalID: "ann", operations: [.wrap]), caller: Self.adminA)
        _ = try vault.wrap(try SecretBytes(randomCount: 32), with: key, caller: userA)
        // Nothing else changed.
        #expect(try vault.getKey(key, caller: Self.adminA).state == .enabled)
        #expect(Set(try vault.listGrants(key, caller: Self.adminA).map(\.principalID)) == [Self.identityA.principalID, Self.adminB.principalID, "ann"])
    }

    @Test func managedKeysAreTheServicesToManage() throws {
        let vault = try fixture.openVault()
        let key = try vault.createKey(provider: "managed", KeySpec(keyID: "mk-a"), tenant: "acme", caller: VaultFixture.service).ref.unversioned
        _ = try vault.grantAccess(AccessGrant(key: key, principalID: Self.identityA.principalID, operations: [.wrap, .unwrap]), caller: VaultFixture.service)
        // The tenant's administrator sees it ...
        #expect(try vault.getKey(key, caller: Self.adminA).state == .enabled)
        #expect(try vault.listKeys(caller: Self.adminA).map(\.ref.unversioned) == [key])
        #expect(try vault.listGrants(key, caller: Self.adminA).count == 1)
        // ... and cannot change it.
        let changes: [(String, () throws -> Void)] = [
            ("rotate", { _ = try vault.rotateKey(key, caller: Self.adminA) }),
            ("disable", { _ = try vault.setEnabled(key, false, caller: Self.adminA) }),
            ("delete", { _ = try vault.deleteKey(key, caller: Self.adminA) }),
            ("purge", { try vault.purgeKey(key, caller: Self.adminA) }),
            ("grant", { _ = try vault.grantAccess(AccessGrant(key: key, principalID: "alice", operations: [.unwrap]), caller: Self.adminA) }),
            ("revoke", { _ = try vault.revokeAccess(AccessGrant(key: key, principalID: Self.identityA.principalID, operations: []), caller: Self.adminA) }),
        ]
        for (name, change) in changes {
            let error = vaultError(change)
            #expect(error?.code == .permissionDenied && error?.message.contains("managed by the service") == true, "\(name)")
        }
        // The account's identity uses it; a service may not create one in a customer provider for a tenant.
        #expect(try vault.generateWrappedKey(with: key, caller: Self.identityA).key.unversioned == key)
        #expect(vaultError { _ = try vault.createKey(provider: "customer", KeySpec(keyID: "c"), tenant: "acme", caller: VaultFixture.service) }?.code == .permissionDenied)
        // A tenant administrator cannot create keys in another tenant.
        #expect(vaultError { _ = try vault.createKey(provider: "customer", KeySpec(keyID: "c"), tenant: "globex", caller: Self.adminA) }?.code == .permissionDenied)
    }

    @Test func theSystemAdministratorCrossesTenantsAndIsAuditedForIt() throws {
        let (vault, key) = try setUp()
        #expect(try vault.listKeys(caller: Self.system).map(\.ref.unversioned) == [key])
        _ = try vault.setEnabled(key, false, caller: Self.system)
        let last = try vault.auditEntries(caller: Self.system).last!
        #expect(last.operation == "DisableKey" && last.principalID == "root" && last.result == "ok")
        #expect(last.detail.contains("across tenants"))
        #expect(try vault.getKey(key, caller: Self.adminA).state == .disabled)
        // Keys it names plainly are the system tenant's own.
        let own = try vault.createKey(provider: "customer", KeySpec(keyID: "k1"), caller: Self.system).ref.unversioned
        #expect(own != key)
        #expect(try vault.auditEntries(caller: Self.system).last!.detail.isEmpty)
        // It may create a key in a tenant, which that tenant then owns.
        let made = try vault.createKey(provider: "customer", KeySpec(keyID: "k2"), tenant: "acme", caller: Self.system).ref.unversioned
        #expect(try vault.getKey(KeyRef(provider: "customer", keyID: "k2"), caller: Self.adminA).ref.unversioned == made)
    }

    @Test func onlyServicesChangeReferenceCounts() throws {
        let (vault, key) = try setUp()
        var version = key
        version.version = 1
        // The key's own administrator with a wrap grant cannot unregister (and then purge).
        _ = try vault.grantAccess(AccessGrant(key: key, principalID: "alice", operations: [.wrap]), caller: Self.adminA)
        #expect(try vault.registerReference(version, caller: VaultFixture.service) == 1)
        for caller in [Self.adminA, Self.identityA] {
            #expect(vaultError { _ = try vault.unregisterReference(version, caller: caller) }?.code == .permissionDenied)
        }
        _ = try vault.deleteKey(key, caller: Self.adminA)
        #expect(vaultError { try vault.purgeKey(key, caller: Self.adminA) }?.code == .stillReferenced)
    }

    @Test func grantsAreListedAndRevokingAMissingGrantIsAnError() throws {
        let (vault, key) = try setUp()
        let grants = try vault.listGrants(key, caller: Self.adminA)
        #expect(grants.map(\.principalID) == ["mi-a"] && grants[0].operations == [.wrap, .unwrap])
        let error = vaultError { _ = try vault.revokeAccess(AccessGrant(key: key, principalID: "nobody", operations: []), caller: Self.adminA) }
        #expect(error?.code == .notFound && error?.message.contains("'nobody' has no grant") == true)
        #expect(vaultError { _ = try vault.listGrants(key, caller: Self.identityA) }?.code == .permissionDenied)
        // An account's identity is granted only keys of its own tenant.
        let cross = AccessGrant(key: key, principalID: "mi-b", operations: [.unwrap], tenant: "globex", accountID: "acct-b")
        #expect(vaultError { _ = try vault.grantAccess(cross, caller: Self.adminA) }?.code == .notFound)
    }

    @Test func namesThatLookQualifiedAreReserved() throws {
        let vault = try fixture.openVault()
        let error = vaultError { _ = try vault.createKey(provider: "customer", KeySpec(keyID: "t0123456789ab.x"), caller: Self.adminA) }
        #expect(error?.code == .invalidArgument && error?.message.contains("reserved") == true)
        let long = String(repeating: "a", count: 114)
        #expect(vaultError { _ = try vault.createKey(provider: "customer", KeySpec(keyID: long), caller: Self.adminA) }?.code == .invalidArgument)
        #expect(try vault.createKey(provider: "customer", KeySpec(keyID: String(long.dropLast())), caller: Self.adminA).keyID.count == 127)
    }
}
