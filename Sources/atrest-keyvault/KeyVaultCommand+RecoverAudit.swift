import ArgumentParser
import AtRestKeyVault
import Foundation
import Glibc

/// `atrest-keyvault --recover-audit`: the offline way out when the vault
/// refuses to start because its audit log does not verify.
extension KeyVaultCommand {
    /// The vault's exit status when the audit log does not verify at start (EX_DATAERR).
    static let auditIncompleteExitCode: Int32 = 65

    func recover(_ config: KeyVaultConfiguration) throws {
        let report: AuditRecovery.Report
        do {
            report = try AuditRecovery.recover(config: config, actor: Self.actor(), reason: recoverAuditReason)
        } catch {
            FileHandle.standardError.write(Data("atrest-keyvault: cannot recover the audit log: \(error.message)\n".utf8))
            throw ExitCode.failure
        }
        guard let gap = report.gap else {
            print("the audit log verifies (\(report.before.entries) entries); nothing recorded")
            return
        }
        print("the audit log did not verify: \(report.before.problem)")
        if let copy = report.damagedCopy { print("lines that did not verify were moved to \(copy)") }
        print("recorded AuditGap entry \(gap.seq) and re-anchored: \(gap.detail)")
    }

    /// Who ran the recovery: "operator:<user>@<host>" (with the sudo user when there is one).
    static func actor() -> String {
        var user = getpwuid(geteuid()).map { String(cString: $0.pointee.pw_name) } ?? "uid \(geteuid())"
        if let sudo = getenv("SUDO_USER") { user += " (sudo by \(String(cString: sudo)))" }
        var host = [CChar](repeating: 0, count: 256)
        let name = gethostname(&host, host.count - 1) == 0 ? String(cString: host) : "unknown-host"
        return "operator:\(user)@\(name)"
    }
}
