import AtRestKeyVault
import AtRestWire
import Glibc
import Testing

/// Account and tenant names reach audit.log only as keyed hashes; a reader
/// gets back the names it may see, other readers see hashes.
@Suite struct AuditNamesTests {
    let log = AuditLogTests()
    var fixture: VaultFixture { log.fixture }
    let key = KeyRef(provider: "customer", keyID: "k1")
    static let identity = VaultCaller(principalID: "mi_0042", tenantID: "tenant-zebra", accountID: "acct-walrus")
    static let zebraAdmin = VaultCaller(principalID: "usr_z", tenantID: "tenant-zebra", roles: ["vault.admin"])
    static let otherAdmin = VaultCaller(principalID: "usr_o", tenantID: "tenant-otter", roles: ["vault.admin"])
    static let system = VaultCaller(principalID: "usr_root", tenantID: "system", roles: ["vault.admin"])

    /// Denials whose messages name the account and both tenants of a moved account.
    func writeDenials() throws -> KeyVault {
        let vault = try fixture.openVault()
        let owned = try vault.createKey(provider: "customer", KeySpec(keyID: "k1"), caller: Self.zebraAdmin).ref.unversioned
        #expect(vaultError { _ = try vault.wrap(try randomKey(), with: key, caller: Self.identity) }?.message.contains("acct-walrus") == true)
        // A grant bound to the account's former tenant (only the system administrator grants across tenants).
        _ = try vault.grantAccess(AccessGrant(key: owned, principalID: Self.identity.principalID, operations: [.wrap, .unwrap],
                                              tenant: "tenant-yak", accountID: "acct-walrus"), caller: Self.system)
        let moved = vaultError { _ = try vault.wrap(try randomKey(), with: key, caller: Self.identity) }
        #expect(moved?.code == .grantTenantMismatch && moved?.message.contains("tenant-yak") == true, "the caller's error stays readable")
        _ = try vault.keyStatus(key, caller: Self.identity)
        try vault.close()
        return vault
    }

    @Test func noAccountOrTenantNameIsWrittenInClear() throws {
        _ = try writeDenials()
        let bytes = fixture.dataFiles().filter { $0.0.hasSuffix("/audit.log") }.flatMap(\.1)
        #expect(!bytes.isEmpty)
        for name in ["acct-walrus", "tenant-zebra", "tenant-yak"] {
            let found = bytes.contains(subsequence: Array(name.utf8))
            #expect(!found, "\(name) is in audit.log in clear")
        }
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("acct~") && text.contains("tenant~"))
        // The hash→name table is sealed, not in clear either.
        for (path, content) in fixture.dataFiles() where path.hasSuffix("audit-names.state") {
            let found = content.contains(subsequence: Array("acct-walrus".utf8))
            #expect(!found)
        }
    }

    @Test func aReaderOfTheTenantSeesTheNamesOthersSeeHashes() throws {
        let vault = try writeDenials()
        let own = try vault.auditEntries(caller: Self.zebraAdmin).filter { $0.principalID == Self.identity.principalID }
        #expect(own.count >= 3 && own.allSatisfy { $0.tenantID == "tenant-zebra" })
        #expect(own.contains { $0.detail.contains("account 'acct-walrus'") })
        #expect(own.contains { $0.detail.contains("tenant 'tenant-yak'") && $0.result == "grantTenantMismatch" })
        // Another tenant's administrator does not get these entries at all ...
        #expect(try vault.auditEntries(caller: Self.otherAdmin).filter { $0.principalID == Self.identity.principalID }.isEmpty)
        // ... the system administrator gets them, with every name.
        let all = try vault.auditEntries(caller: Self.system).filter { $0.principalID == Self.identity.principalID }
        #expect(all.count == own.count && all.contains { $0.detail.contains("tenant 'tenant-yak'") })
        // Naming the account in a token of another tenant does not open zebra's entries either.
        let mine = try vault.auditEntries(caller: VaultCaller(principalID: "mi_x", tenantID: "tenant-otter", roles: ["vault.auditor"], accountID: "acct-walrus"))
        #expect(mine.filter { $0.principalID == Self.identity.principalID }.isEmpty)
    }

    @Test func theNamesSurviveARestart() throws {
        _ = try writeDenials()
        let entries = try fixture.openVault().auditEntries(caller: Self.zebraAdmin)
        #expect(entries.contains { $0.detail.contains("acct-walrus") })
    }
}
