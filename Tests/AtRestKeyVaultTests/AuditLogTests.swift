import AtRestKeyVault
import AtRestWire
import Glibc
import Testing

/// The hash-chained audit log detects edited, removed, reordered and cut-off entries.
@Suite struct AuditLogTests {
    let fixture = VaultFixture(providers: [.customer()])

    /// A vault with a few audited operations, closed (head anchored); returns the log's lines.
    func writeLog() throws -> [String] {
        let vault = try fixture.openVault()
        let key = KeyRef(provider: "customer", keyID: "k1")
        _ = try vault.createKey(provider: "customer", KeySpec(keyID: "k1"), caller: VaultFixture.admin)
        try fixture.grantApp(vault, key)
        let wrapped = try vault.wrap(try randomKey(), with: key, caller: VaultFixture.app, callID: [0xca, 0x11])
        _ = try vault.unwrap(wrapped.serialized, caller: VaultFixture.app)
        _ = vaultError { _ = try vault.rotateKey(key, caller: VaultFixture.app) }
        try vault.close()
        #expect(try vault.verifyAuditLog(caller: VaultFixture.auditor).intact)
        return try lines()
    }

    var logPath: String { fixture.dataDirectory + "/audit.log" }

    func lines() throws -> [String] {
        let file = try #require(fopen(logPath, "r"))
        defer { fclose(file) }
        var result: [String] = []
        var buffer = [CChar](repeating: 0, count: 8192)
        while fgets(&buffer, Int32(buffer.count), file) != nil {
            result.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return result
    }

    func rewrite(_ lines: [String]) {
        let file = fopen(logPath, "w")
        for line in lines { fputs(line, file) }
        fclose(file)
    }

    /// Verifies offline: the vault itself no longer opens a log that does not verify.
    func verify() throws -> AuditVerification {
        try AuditRecovery.inspect(config: fixture.config())
    }

    @Test func recordsWhoWhatWhichVersionResultAndCallID() throws {
        _ = try writeLog()
        let entries = try fixture.openVault().auditEntries(caller: VaultFixture.auditor)
        let ops = entries.map { "\($0.operation):\($0.result)" }
        #expect(ops.starts(with: ["CreateKey:ok", "GrantAccess:ok", "Wrap:ok", "Unwrap:ok", "RotateKey:permissionDenied"]))
        let wrap = try #require(entries.first { $0.operation == "Wrap" })
        #expect(wrap.principalID == "acct-1-identity" && wrap.tenantID == "t1")
        #expect(wrap.key.named == KeyRef(provider: "customer", keyID: "k1", version: 1))
        #expect(wrap.callID == [0xca, 0x11])
        #expect(wrap.time == fixture.clock.now)
        #expect(entries.map(\.seq) == Array(1...UInt64(entries.count)))
        #expect(vaultError { _ = try fixture.openVault().auditEntries(caller: VaultFixture.app) }?.code == .permissionDenied)
    }

    @Test func anEditedLineIsDetected() throws {
        var lines = try writeLog()
        lines[2] = lines[2].replacingFirst("acct-1-identity", with: "mallory")
        rewrite(lines)
        let report = try verify()
        #expect(!report.intact && report.firstBadLine == 3)
    }

    @Test func aRemovedLineIsDetected() throws {
        var lines = try writeLog()
        lines.remove(at: 1)
        rewrite(lines)
        let report = try verify()
        #expect(!report.intact && report.firstBadLine == 2)
    }

    @Test func reorderedLinesAreDetected() throws {
        var lines = try writeLog()
        lines.swapAt(2, 3)
        rewrite(lines)
        let report = try verify()
        #expect(!report.intact && report.firstBadLine == 3)
    }

    @Test func aCutOffTailIsDetectedThroughTheHeadAnchor() throws {
        let lines = try writeLog()
        rewrite(Array(lines.dropLast(2)))
        let report = try verify()
        #expect(!report.intact)
        #expect(report.problem.contains("cut off the end"))
    }

    @Test func theChainContinuesAcrossRestarts() throws {
        _ = try writeLog()
        let vault = try fixture.openVault()
        _ = try vault.getKey(KeyRef(provider: "customer", keyID: "k1"), caller: VaultFixture.admin)
        let report = try vault.verifyAuditLog(caller: VaultFixture.auditor)
        #expect(report.intact && report.entries == 6)
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        replacing(target, with: replacement, maxReplacements: 1)
    }
}
