import ArgumentParser
import AtRestClient
import AtRestWire

/// `atrest account delete|recover` (docs/DATA-PATH.md "Deleting an account").
extension AccountCommands {
    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete an account (owner); refused while it holds data unless --force.",
            discussion: "Every data call is refused from then on. Until the grace period ends (the front door's --account-delete-grace, 7 days by default; shown as purgeAfter) `atrest account recover` restores it; then its account key is destroyed, which erases all its data for good.")
        @Argument(help: "Account id.") var account: String
        @Flag(help: "Delete it although it holds containers, queues, tables, disks or shares.") var force = false
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            printAccount(try await withAccounts(global) { try await $0.delete(account, force: force) }, global.output)
        }
    }

    struct Recover: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Undo `account delete` before the account is purged (owner).")
        @Argument(help: "Account id.") var account: String
        @OptionGroup var global: GlobalOptions
        func run() async throws { printAccount(try await withAccounts(global) { try await $0.recover(account) }, global.output) }
    }
}

/// The state column of `account show|list`: active, deleted or purged.
func accountStateText(_ info: AccountInfo) -> String { info.state.isEmpty ? AccountState.active : info.state }
