import AtRestKeyVault
import AtRestWire
import Testing

/// KeyStatus checks in the audit log: changes, denials and failures one by
/// one; allowed, unchanged answers counted into KeyStatusSummary entries.
@Suite struct KeyStatusAuditTests {
    let fixture = VaultFixture(providers: [.customer()])
    let key = KeyRef(provider: "customer", keyID: "k1")

    func vault(interval: Int64 = 900) throws -> KeyVault {
        var config = fixture.config()
        config.keyStatusAuditInterval = interval
        let vault = try KeyVault(config: config, events: fixture.events)
        _ = try vault.createKey(provider: "customer", KeySpec(keyID: "k1"), caller: VaultFixture.admin)
        try fixture.grantApp(vault, key)
        return vault
    }

    /// The status entries after `after`, as "operation:detail-prefix".
    func statusEntries(_ vault: KeyVault, after: UInt64 = 0) throws -> [AuditEntry] {
        try vault.auditEntries(after: after, caller: VaultFixture.auditor).filter { $0.operation.hasPrefix("KeyStatus") }
    }

    /// Worker-style polling: `count` checks, 5 s apart.
    func poll(_ vault: KeyVault, _ count: Int, as caller: VaultCaller = VaultFixture.app) throws {
        for _ in 0..<count {
            #expect(try vault.keyStatus(key, caller: caller).unwrapAllowed)
            fixture.clock.advance(seconds: 5)
        }
    }

    @Test func unchangedAllowedChecksAreCountedAndSummarizedOncePerInterval() throws {
        let vault = try vault(interval: 900)
        try poll(vault, 1)
        var entries = try statusEntries(vault)
        #expect(entries.map(\.operation) == ["KeyStatus"])
        #expect(entries[0].detail.hasPrefix("first: state=enabled unwrap=allowed wrap=allowed version=1"))
        #expect(entries[0].key.version == 1 && entries[0].principalID == VaultFixture.app.principalID)

        // 179 more checks, 5 s apart: the last lands at 895 s, still inside the window.
        try poll(vault, 179)
        #expect(try statusEntries(vault).count == 1)
        #expect(vault.keyStatusAuditCounts == KeyStatusAuditCounts(audited: 1, counted: 179, summaries: 0))

        // The check at 900 s closes the window: one summary with every counted check.
        try poll(vault, 1)
        entries = try statusEntries(vault)
        #expect(entries.map(\.operation) == ["KeyStatus", "KeyStatusSummary"])
        #expect(entries[1].detail.hasPrefix("180 unchanged checks from 1750000005 to 1750000900: state=enabled unwrap=allowed"))
        #expect(entries[1].principalID == VaultFixture.app.principalID && entries[1].tenantID == "t1" && entries[1].key.version == 1)
        #expect(vault.keyStatusAuditCounts.summaries == 1)
        #expect(try vault.verifyAuditLog(caller: VaultFixture.auditor).intact)
    }

    @Test func aChangedAnswerIsAuditedAfterASummaryOfTheChecksBeforeIt() throws {
        let vault = try vault()
        try poll(vault, 4)
        _ = try vault.rotateKey(key, caller: VaultFixture.admin)
        let before = try vault.auditEntries(caller: VaultFixture.auditor).last!.seq
        try poll(vault, 1)
        let entries = try statusEntries(vault, after: before)
        #expect(entries.map(\.operation) == ["KeyStatusSummary", "KeyStatus"])
        #expect(entries[0].detail.hasPrefix("3 unchanged checks") && entries[0].detail.contains("version=1"))
        #expect(entries[1].detail.hasPrefix("changed: state=enabled unwrap=allowed wrap=allowed version=2"))
        #expect(entries[1].key.version == 2)
    }

    @Test func deniedAnswersAndFailuresAreAuditedEveryTime() throws {
        let vault = try vault()
        try poll(vault, 2)
        _ = try vault.setEnabled(key, false, caller: VaultFixture.admin)
        let before = try vault.auditEntries(caller: VaultFixture.auditor).last!.seq
        for _ in 0..<3 { #expect(try !vault.keyStatus(key, caller: VaultFixture.app).unwrapAllowed) }
        // A caller without a grant: denied each time too.
        _ = try vault.setEnabled(key, true, caller: VaultFixture.admin)
        for _ in 0..<2 { #expect(try !vault.keyStatus(key, caller: VaultCaller(principalID: "mallory", tenantID: "t1")).unwrapAllowed) }
        // An unknown key throws, and is audited with its error.
        var missing = ""
        for _ in 0..<2 {
            let error = vaultError { _ = try vault.keyStatus(KeyRef(provider: "customer", keyID: "nope"), caller: VaultFixture.app) }
            #expect(error?.code == .notFound && error?.message.contains(".nope'") == true)
            missing = String(error?.message.prefix { $0 != ":" } ?? "")
        }
        // Allowed again: a change, audited.
        try poll(vault, 1)
        let entries = try statusEntries(vault, after: before)
        #expect(entries.map { "\($0.operation):\($0.result):\($0.detail.prefix { $0 != ":" })" } == [
            "KeyStatusSummary:ok:1 unchanged checks from 1750000005 to 1750000005",
            "KeyStatus:ok:denied", "KeyStatus:ok:denied", "KeyStatus:ok:denied",
            "KeyStatus:ok:denied", "KeyStatus:ok:denied",
            "KeyStatus:notFound:\(missing)", "KeyStatus:notFound:\(missing)",
            "KeyStatus:ok:changed",
        ])
        #expect(entries[1].detail.contains(".k1 is disabled"))
        #expect(entries[4].principalID == "mallory" && entries[4].detail.contains("no 'unwrap' grant"))
    }

    @Test func callersAreTrackedSeparatelyAndCloseWritesWhatIsPending() throws {
        let vault = try vault()
        let worker2 = VaultCaller(principalID: "acct-2-identity", tenantID: "t1")
        _ = try vault.grantAccess(AccessGrant(key: key, principalID: worker2.principalID, operations: [.unwrap]), caller: VaultFixture.admin)
        try poll(vault, 3)
        try poll(vault, 5, as: worker2)
        try vault.close()
        let entries = try statusEntries(vault)
        #expect(entries.map { "\($0.principalID) \($0.operation) \($0.detail.prefix(8))" } == [
            "acct-1-identity KeyStatus first: s", "acct-2-identity KeyStatus first: s",
            "acct-1-identity KeyStatusSummary 2 unchan", "acct-2-identity KeyStatusSummary 4 unchan",
        ])
        #expect(entries[3].detail.contains("wrap=denied"))
        // Every check is accounted for: own entries plus the summaries' counts.
        let summarized = entries.filter { $0.operation == "KeyStatusSummary" }.compactMap { UInt64($0.detail.prefix { $0 != " " }) }.reduce(0, +)
        #expect(UInt64(entries.filter { $0.operation == "KeyStatus" }.count) + summarized == 8)
        #expect(vault.keyStatusAuditCounts == KeyStatusAuditCounts(audited: 2, counted: 6, summaries: 2))
        // Nothing pending: a second close writes nothing more.
        try vault.close()
        #expect(try statusEntries(vault).count == 4)
        #expect(try vault.verifyAuditLog(caller: VaultFixture.auditor).intact)
    }

    @Test func intervalZeroAuditsEveryCheck() throws {
        let vault = try vault(interval: 0)
        try poll(vault, 4)
        try vault.close()
        let entries = try statusEntries(vault)
        #expect(entries.map(\.operation) == Array(repeating: "KeyStatus", count: 4))
        #expect(entries.allSatisfy { $0.detail.hasPrefix("every check: state=enabled") })
        #expect(vault.keyStatusAuditCounts == KeyStatusAuditCounts(audited: 4, counted: 0, summaries: 0))
    }
}
