import AtRestClient
import AtRestKeyVault
import AtRestTesting
import AtRestWire
import Foundation
import Testing

/// The real atrest-keyvault refuses to start on an audit log that lost
/// entries (exit 65, a message naming the missing entries and the recovery
/// command), and starts again once `--recover-audit` recorded the gap.
@Suite("Audit log recovery with real processes", .serialized)
struct VaultAuditRecoveryProcessTests {
    @Test func aTruncatedLogStopsTheVaultUntilTheGapIsRecorded() async throws {
        let fixture = try await IdentityVaultFixture()
        defer { fixture.shutdown() }
        for id in ["r1", "r2", "r3"] { _ = try await fixture.adminVault.createKey(provider: "customer", KeySpec(keyID: id)) }
        fixture.stopVault()
        let path = "\(fixture.directory)/vault/audit.log"
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count >= 3)
        try (lines.dropLast().joined(separator: "\n") + "\n").write(toFile: path, atomically: false, encoding: .utf8)

        let arguments = LocalCluster.vaultArguments(root: fixture.directory, identity: fixture.identityEndpoint)
        for _ in 0..<2 {
            let refused = try await runTool("atrest-keyvault", arguments, killAfter: .seconds(30))
            #expect(refused.status == 65, "\(refused.err)")
            #expect(refused.err.contains("1 entry (seq \(lines.count)) are missing"), "\(refused.err)")
            #expect(refused.err.contains("recover-audit --data-dir \(fixture.directory)/vault"))
            #expect(!refused.out.contains("ready"))
        }

        let recovered = try await runTool("atrest-keyvault", ["--data-dir", "\(fixture.directory)/vault", "--recover-audit",
                                                              "--recover-audit-reason", "restored from backup"])
        #expect(recovered.status == 0, "\(recovered.err)")
        #expect(recovered.out.contains("recorded AuditGap entry \(lines.count + 1)"), "\(recovered.out)")

        try fixture.startVault()
        let vault = try fixture.vaultClient(token: fixture.admin.bearerToken)
        defer { vault.base.close() }
        let report = try await vault.verifyAuditLog()
        #expect(report.intact, "\(report.problem)")
        let gap = try #require(report.gaps.first)
        #expect(gap.seq == UInt64(lines.count + 1) && gap.detail.contains("restored from backup") && gap.detail.contains("operator:"))
        #expect(try await vault.auditLog(after: 0, limit: 0).contains { $0.operation == "AuditGap" })
    }
}
