import ArgumentParser
import AtRestClient
import AtRestWire

/// `atrest scope create|show|list|disable|enable`.
struct ScopeCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scope", abstract: "Encryption scopes: named key choices inside an account.",
        discussion: "A scope has an account key of its own, wrapped by the account's managed key or by a customer key. Writes name a scope (`blob put --scope`) or take their container's default (`container create --scope`); reads need no scope.",
        subcommands: [Create.self, Show.self, List.self, Disable.self, Enable.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a scope (account owner).",
            discussion: "A customer key needs wrap and unwrap grants for the account: `atrest key grant KEY --account ACCOUNT --operations wrap,unwrap`.")
        @Argument(help: "Account id.") var account: String
        @Argument(help: "Scope name: 3-63 of a-z 0-9 '-'.") var scope: String
        @Option(help: "managed or customer.") var keySource = "managed"
        @Option(help: "Provider of a customer key (default customer).") var provider = ""
        @Option(help: "Key id of a customer key.") var key = ""
        @OptionGroup var global: GlobalOptions

        func validate() throws { try validateKeySource(keySource, provider: provider, key: key) }

        func run() async throws {
            let created = try await withAccounts(global) {
                try await $0.createScope(account, scope, keySource: keySource, provider: provider, keyID: key)
            }
            printScope(account, created, global.output)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a scope.")
        @Argument(help: "Account id.") var account: String
        @Argument(help: "Scope name.") var scope: String
        @OptionGroup var global: GlobalOptions
        func run() async throws { printScope(account, try await withAccounts(global) { try await $0.scope(account, scope) }, global.output) }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List an account's scopes.", aliases: ["ls"])
        @Argument(help: "Account id.") var account: String
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let scopes = try await withAccounts(global) { try await $0.scopes(account) }
            global.output.table(["scope", "keySource", "key", "keyVersion", "state", "accountKeyVersion", "createdAt"], scopes.map {
                [$0.name, $0.keySource, "\($0.provider)/\($0.keyID)", $0.keyVersion, $0.state, $0.accountKeyVersion,
                 isoTime(seconds: $0.createdAtUnix)]
            })
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Disable a scope (account owner): reads and writes of its data fail until it is enabled again.")
        @Argument(help: "Account id.") var account: String
        @Argument(help: "Scope name.") var scope: String
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            printScope(account, try await withAccounts(global) { try await $0.setScope(account, scope, enabled: false) }, global.output)
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enable a disabled scope again (account owner).")
        @Argument(help: "Account id.") var account: String
        @Argument(help: "Scope name.") var scope: String
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            printScope(account, try await withAccounts(global) { try await $0.setScope(account, scope, enabled: true) }, global.output)
        }
    }
}

/// `--key-source managed|customer` with `--provider`/`--key` (encryption set, scope create).
func validateKeySource(_ keySource: String, provider: String, key: String) throws {
    switch keySource {
    case "managed": if !key.isEmpty || !provider.isEmpty { throw ValidationError("--key-source managed takes no --key or --provider") }
    case "customer": if key.isEmpty { throw ValidationError("--key-source customer needs --key") }
    default: throw ValidationError("--key-source must be managed or customer, got '\(keySource)'")
    }
}

func printScope(_ account: String, _ scope: EncryptionScope, _ output: Output) {
    output.record([
        "account": account, "scope": scope.name, "keySource": scope.keySource, "key": "\(scope.provider)/\(scope.keyID)",
        "keyVersion": scope.keyVersion, "state": scope.state, "accountKeyVersion": scope.accountKeyVersion,
        "createdAt": isoTime(seconds: scope.createdAtUnix),
    ])
}
