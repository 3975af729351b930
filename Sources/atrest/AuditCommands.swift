import ArgumentParser
import AtRestClient
import AtRestWire

/// `atrest audit show|verify`: the vault's hash-chained audit log.
struct AuditCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Read and verify the vault's audit log.", subcommands: [Show.self, Verify.self])

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print audit entries.",
            discussion: "Account and tenant names are stored hashed (acct~…, tenant~…); the vault shows the names you may see (your tenant's entries, your accounts), the others stay hashed.")
        @Option(help: "Only entries after this sequence number.") var after: UInt64 = 0
        @Option(help: "At most this many entries (0: 1000).") var limit: UInt32 = 0
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let entries = try await withVault(global) { try await $0.auditLog(after: after, limit: limit) }
            global.output.table(["seq", "time", "principal", "tenant", "operation", "key", "result", "detail"], entries.map {
                [$0.seq, isoTime(seconds: $0.time), $0.principalID, $0.tenantID, $0.operation, $0.key.description, $0.result, $0.detail]
            })
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify the hash chain; exits 6 when an entry was edited, removed, inserted or reordered.",
            discussion: "Also lists the gaps an operator recorded with `atrest-keyvault --recover-audit` (AuditGap entries).")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let report = try await withVault(global) { try await $0.verifyAuditLog() }
            global.output.record(["intact": report.intact, "entries": report.entries, "firstBadLine": report.firstBadLine,
                                  "problem": report.problem,
                                  "recordedGaps": report.gaps.map { "entry \($0.seq) at \(isoTime(seconds: $0.time)): \($0.detail)" }.joined(separator: "\n")])
            if !report.intact { throw CLIFailure(message: "the audit log does not verify: \(report.problem)", exitCode: ExitCodes.precondition) }
        }
    }
}
