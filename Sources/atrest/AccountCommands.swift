import ArgumentParser
import AtRestClient
import AtRestWire

/// `atrest account create|show|list|move|delete|recover`.
struct AccountCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "account", abstract: "Storage accounts (encryption is always on).",
        subcommands: [Create.self, Show.self, List.self, Move.self, Delete.self, Recover.self, RotateKey.self, Reencrypt.self, RetireVersions.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an account; you become its owner (managed key by default).")
        @Argument(help: "Account id: 1-63 of a-z 0-9 '-'.") var account: String
        @Option(help: "Copies of every object the storage keeps (e.g. 2 or 3 on Ceph; 1 on a local directory); default: the deployment's.")
        var redundancy: UInt32 = 0
        @Flag(help: "Seal everything the account stores (blobs, queues, tables, disks, file shares) a second time under an independent service-held key (its own managed key in the vault); fixed at creation (docs/FORMAT.md \"Infrastructure layer\").")
        var infrastructureEncryption = false
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            printAccount(try await withAccounts(global) {
                try await $0.create(account, redundancy: redundancy, infrastructureEncryption: infrastructureEncryption)
            }, global.output)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an account.")
        @Argument(help: "Account id.") var account: String
        @OptionGroup var global: GlobalOptions
        func run() async throws { printAccount(try await withAccounts(global) { try await $0.get(account) }, global.output) }
    }

    struct Move: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move an account to another tenant (identity administrator of the system tenant).",
            discussion: "Takes effect at once: the account's identity, its managed key and the account itself go to the tenant. Grants of customer keys made in the old tenant stop applying; the notice says how to repair them.")
        @Argument(help: "Account id.") var account: String
        @Option(help: "The tenant to move to.") var tenant: String
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let moved = try await withAccounts(global) { try await $0.move(account, to: tenant) }
            printAccount(moved.account, global.output)
            if !moved.notice.isEmpty { global.output.note(moved.notice) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the accounts you own or read.")
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let accounts = try await withAccounts(global) { try await $0.list() }
            global.output.table(["account", "tenant", "state", "keySource", "key", "keyVersion", "owners"], accounts.map {
                [$0.accountID, $0.tenant, accountStateText($0), $0.encryption.keySource, "\($0.encryption.provider)/\($0.encryption.keyID)",
                 $0.encryption.keyVersion, $0.owners]
            })
        }
    }
}

/// `atrest encryption show|set`.
struct EncryptionCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encryption", abstract: "An account's encryption settings (which key wraps its account key).",
        subcommands: [Show.self, Set.self])

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show key source, provider, key, version and when it last changed.")
        @Argument(help: "Account id.") var account: String
        @OptionGroup var global: GlobalOptions
        func run() async throws { printEncryption(account, try await withAccounts(global) { try await $0.encryption(account) }, global.output) }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Switch to a customer key or back to managed; the account key is re-wrapped, no data is re-encrypted.",
            discussion: "A customer key needs wrap and unwrap grants for the account: `atrest key grant KEY --account ACCOUNT --operations wrap,unwrap`.")
        @Argument(help: "Account id.") var account: String
        @Option(help: "managed or customer.") var keySource: String
        @Option(help: "Provider of a customer key (default customer).") var provider = ""
        @Option(help: "Key id of a customer key.") var key = ""
        @OptionGroup var global: GlobalOptions

        func validate() throws { try validateKeySource(keySource, provider: provider, key: key) }

        func run() async throws {
            let settings = try await withAccounts(global) {
                try await $0.setEncryption(account, keySource: keySource, provider: provider, keyID: key)
            }
            printEncryption(account, settings, global.output)
        }
    }
}

func printAccount(_ info: AccountInfo, _ output: Output) {
    output.record([
        "account": info.accountID, "tenant": info.tenant, "managedIdentity": info.managedIdentity, "createdAt": isoTime(seconds: info.createdAtUnix),
        "owners": info.owners, "keySource": info.encryption.keySource,
        "key": "\(info.encryption.provider)/\(info.encryption.keyID)", "keyVersion": info.encryption.keyVersion,
        "accountKeyVersion": max(1, info.encryption.accountKeyVersion), "accountKeyVersions": accountKeyVersions(info),
        // Records made before redundancy existed say 0: one copy in the default place.
        "redundancy": max(1, info.redundancy), "pool": info.pool.isEmpty ? "(local directory or default pool)" : info.pool,
        "infrastructureEncryption": info.infrastructureEncryption,
        "state": accountStateText(info),
        "deletedAt": info.deletedAtUnix == 0 ? String?.none : isoTime(seconds: info.deletedAtUnix),
        "purgeAfter": info.purgeAfterUnix == 0 ? String?.none : isoTime(seconds: info.purgeAfterUnix),
        "retiredAccountKeyVersions": info.retiredAccountKeyVersions.isEmpty ? String?.none : info.retiredAccountKeyVersions.map(String.init).joined(separator: ","),
        "reencryptJob": info.reencryptJob.map(jobSummary),
    ])
}

/// The account key versions data may be under, current included.
func accountKeyVersions(_ info: AccountInfo) -> String {
    (info.accountKeyVersions.isEmpty ? [max(1, info.encryption.accountKeyVersion)] : info.accountKeyVersions).map(String.init).joined(separator: ",")
}

func printEncryption(_ account: String, _ encryption: AccountEncryption, _ output: Output) {
    output.record([
        "account": account, "algorithm": encryption.algorithm, "keySource": encryption.keySource, "provider": encryption.provider,
        "keyId": encryption.keyID, "keyVersion": encryption.keyVersion, "accountKeyVersion": encryption.accountKeyVersion,
        "changedAt": isoTime(seconds: encryption.changedAtUnix),
    ])
}

/// Runs `body` with an account client on the configured endpoint and token.
func withAccounts<R>(_ global: GlobalOptions, _ body: (AccountClient) async throws -> R) async throws -> R {
    let client = try global.client(try global.loadConfig())
    defer { client.close() }
    return try await body(AccountClient(client))
}
