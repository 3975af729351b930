import ArgumentParser
import AtRestClient
import AtRestWire

extension AccountCommands {
    /// `atrest account rotate-key ACCOUNT`.
    struct RotateKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-key",
            abstract: "Give the account a new account key version (owner); new writes use it, older objects stay readable.",
            discussion: "The vault generates the new key under the account's current KEK. Objects written before keep their version (recorded in their header) until `atrest account reencrypt` rewrites them.")
        @Argument(help: "Account id.") var account: String
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            printEncryption(account, try await withAccounts(global) { try await $0.rotateKey(account) }, global.output)
        }
    }
}
