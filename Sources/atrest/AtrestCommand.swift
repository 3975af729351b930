import AtRestRuntime
import AtRestServiceKit
import ArgumentParser
import Foundation

/// `atrest`: the AtRest command line for users and operators.
///
/// Exit codes (one mapping, `ExitCodes`): 0 ok, 1 other failure, 2 usage or
/// invalid argument, 3 not found, 4 authentication or permission, 5
/// unavailable or deadline exceeded, 6 failed precondition or conflict
/// (also: an audit log that does not verify), 7 data integrity (DATA_LOSS:
/// tampered or corrupted data). docs/CLI.md has the table.
@main
struct AtrestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "atrest",
        abstract: "AtRest: storage that encrypts everything at rest.",
        discussion: """
            Configuration: $ATREST_CONFIG or ~/.config/atrest/config.json (mode 0600): named profiles (--profile, $ATREST_PROFILE, `atrest config use`), each with the endpoint, CURVE server key and client key file and the token `atrest login` saved.
            Exit codes: 0 ok, 1 other, 2 usage, 3 not found, 4 authentication/permission, 5 unavailable/deadline, 6 precondition/conflict, 7 data integrity (tampered or corrupted data).
            Errors go to stderr; with --json as one JSON object {code, message, details, exitCode[, hint]}.
            """,
        // Groups: add new command groups (account, container, blob, ...) here.
        subcommands: [
            LoginCommand.self, WhoAmICommand.self, TenantCommands.self, UserCommands.self, RoleCommands.self,
            KeyCommands.self, AuditCommands.self, JobCommands.self,
            AccountCommands.self, EncryptionCommands.self, ScopeCommands.self, ContainerCommands.self, BlobCommands.self, QueueCommands.self, TableCommands.self,
            EntityCommands.self, DiskCommands.self, ShareCommands.self, FileCommands.self, MountCommand.self, UnmountCommand.self, CurveCommands.self,
            StatusCommand.self, ConfigCommands.self,
        ])

    /// Parses, runs, and maps every failure to the documented exit code.
    static func main() async {
        ProcessStart.applyCryptoPolicy("atrest")
        MemoryTuning.keepLargeBuffers()  // 4 MiB blocks and ranges, reused instead of re-faulted
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            Foundation.exit(ExitCodes.report(error))
        }
    }
}
