import AtRestKeyVault
import AtRestWire
import Glibc
import Testing

/// The vault verifies its audit log against the head anchor at start and
/// refuses to start on a log that lost entries or was altered; the offline
/// recovery records the gap so that the log verifies again and shows it.
@Suite struct AuditStartCheckTests {
    let log = AuditLogTests()
    var fixture: VaultFixture { log.fixture }
    var headPath: String { log.logPath + ".head" }

    /// Opening must fail with `.auditIncomplete`; returns the message.
    func refusal() -> String {
        let error = vaultError { _ = try fixture.openVault() }
        #expect(error?.code == .auditIncomplete, "\(String(describing: error))")
        #expect(error?.message.contains("recover-audit --data-dir \(fixture.dataDirectory)") == true)
        return error?.message ?? ""
    }

    @Test func aLogCutByOneEntryStopsTheVaultAtEveryStart() throws {
        let lines = try log.writeLog()
        log.rewrite(Array(lines.dropLast()))
        for _ in 0..<2 {
            let message = refusal()
            #expect(message.contains("1 entry (seq \(lines.count)) are missing"), "\(message)")
            #expect(message.contains(log.logPath) && message.contains(headPath))
        }
        // Refusing changed nothing: the anchor still names the lost entry.
        #expect(try AuditRecovery.inspect(config: fixture.config()).problem.contains("records entry \(lines.count)"))
    }

    @Test func aLogCutByManyEntriesNamesTheMissingRange() throws {
        let lines = try log.writeLog()
        log.rewrite(Array(lines.prefix(2)))
        let message = refusal()
        #expect(message.contains("\(lines.count - 2) entries (seq 3-\(lines.count)) are missing"), "\(message)")
    }

    @Test func aDeletedHeadAnchorStopsTheVault() throws {
        _ = try log.writeLog()
        #expect(unlink(headPath) == 0)
        #expect(refusal().contains("head anchor '\(headPath)' is missing"))
    }

    @Test func aDeletedLogAndAnchorOfAUsedVaultStopIt() throws {
        _ = try log.writeLog()
        #expect(unlink(headPath) == 0 && unlink(log.logPath) == 0)
        #expect(refusal().contains("is missing"))
    }

    @Test func aModifiedMiddleEntryStopsTheVault() throws {
        var lines = try log.writeLog()
        lines[2] = lines[2].replacingFirst("acct-1-identity", with: "mallory")
        log.rewrite(lines)
        let message = refusal()
        #expect(message.contains("line 3: hash does not match"), "\(message)")
    }

    @Test func anEmptyLogWithoutAnchorIsANewVault() throws {
        let vault = try fixture.openVault()
        #expect(access(headPath, F_OK) == 0, "the first start anchors the empty log")
        let report = try vault.verifyAuditLog(caller: VaultFixture.auditor)
        #expect(report.intact && report.entries == 0)
        // A vault killed before its first entry starts again.
        #expect(vaultError { _ = try fixture.openVault() } == nil)
    }

    @Test func aTornLastLineFromACrashIsCutNotRefused() throws {
        let lines = try log.writeLog()
        log.rewrite(lines + ["999\t17\tca"])
        let vault = try fixture.openVault()
        #expect(try vault.verifyAuditLog(caller: VaultFixture.auditor).intact)
    }

    @Test func recoveryRecordsTheGapAndTheVaultStartsAgain() throws {
        let lines = try log.writeLog()
        log.rewrite(Array(lines.prefix(2)))
        _ = refusal()
        fixture.clock.advance(seconds: 60)
        let report = try AuditRecovery.recover(config: fixture.config(), actor: "operator:ops@host-1", reason: "INC-42")
        let gap = try #require(report.gap)
        #expect(!report.before.intact && report.damagedCopy == nil)
        // The gap takes the number after the anchored head: no seq is used twice.
        #expect(gap.seq == UInt64(lines.count) + 1 && gap.operation == "AuditGap" && gap.time == fixture.clock.now)
        for expected in ["head anchor at entry \(lines.count)", "entries 1-2 verify", "seq 3-\(lines.count) not in the chain",
                         "operator:ops@host-1", "INC-42"] {
            #expect(gap.detail.contains(expected), "\(expected) in \(gap.detail)")
        }

        do {
            let vault = try fixture.openVault()
            let verified = try vault.verifyAuditLog(caller: VaultFixture.auditor)
            #expect(verified.intact && verified.gaps.map(\.seq) == [gap.seq], "\(verified)")
            _ = try vault.getKey(KeyRef(provider: "customer", keyID: "k1"), caller: VaultFixture.admin)
            try vault.close()
            // Never while a vault uses the log.
            let busy = vaultError { _ = try AuditRecovery.recover(config: fixture.config(), actor: "operator:ops@host-1") }
            #expect(busy?.code == .unavailable && busy?.message.contains("stop the vault") == true)
        }
        let after = try fixture.openVault().auditEntries(caller: VaultFixture.auditor)
        #expect(after.map(\.seq) == [1, 2, gap.seq, gap.seq + 1])
        // A second run finds nothing to do.
        #expect(try AuditRecovery.recover(config: fixture.config(), actor: "operator:ops@host-1").gap == nil)
    }

    @Test func recoveryOfAModifiedEntryKeepsTheLinesThatDoNotVerify() throws {
        var lines = try log.writeLog()
        lines[2] = lines[2].replacingFirst("acct-1-identity", with: "mallory")
        log.rewrite(lines)
        let report = try AuditRecovery.recover(config: fixture.config(), actor: "operator:ops@host-1")
        let copy = try #require(report.damagedCopy)
        #expect(report.gap?.detail.contains("lines 3-\(lines.count) moved to '\(copy)'") == true)
        #expect(try log.lines().count == 3, "two verified lines and the gap")
        let vault = try fixture.openVault()
        #expect(try vault.verifyAuditLog(caller: VaultFixture.auditor).intact)
        var saved = [UInt8](repeating: 0, count: 1 << 16)
        let fd = open(copy, O_RDONLY)
        let n = read(fd, &saved, saved.count)
        close(fd)
        #expect(String(decoding: saved.prefix(max(n, 0)), as: UTF8.self).contains("mallory"))
    }

    @Test func recoveryOfADeletedAnchorNumbersAfterTheLastEntry() throws {
        let lines = try log.writeLog()
        #expect(unlink(headPath) == 0)
        let gap = try #require(try AuditRecovery.recover(config: fixture.config(), actor: "operator:ops@host-1").gap)
        #expect(gap.seq == UInt64(lines.count) + 1 && gap.detail.contains("missing"))
        #expect(try fixture.openVault().verifyAuditLog(caller: VaultFixture.auditor).intact)
    }
}
