import ArgumentParser
import AtRestClient
import AtRestWire

/// `atrest key ...`: key-encryption keys in the vault.
struct KeyCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key", abstract: "Manage vault keys (key administrators).",
        subcommands: [Create.self, Import.self, List.self, Show.self, Rotate.self, Enable.self, Disable.self, Delete.self, Recover.self,
                      Purge.self, Grant.self, Revoke.self, Grants.self])

    /// `provider/key-id`, or just `key-id` for the customer provider. The key
    /// id is the name in the caller's tenant, or the qualified id the vault
    /// shows (`t<12 hex>.<name>`; docs/KEY-PROVIDERS.md "Tenants").
    struct KeyArgument: ParsableArguments {
        @Argument(help: "The key: provider/name or provider/qualified-id (provider defaults to customer).") var key: String

        var ref: KeyRef {
            guard let slash = key.firstIndex(of: "/") else { return KeyRef(provider: "customer", keyID: key) }
            return KeyRef(provider: String(key[..<slash]), keyID: String(key[key.index(after: slash)...]))
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key (version 1, generated in the vault).")
        @OptionGroup var key: KeyArgument
        @OptionGroup var spec: KeySpecOptions
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let spec = spec.spec(key.ref.keyID)
            printKey(try await withVault(global) { try await $0.createKey(provider: key.ref.provider, spec) }, global.output)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys.")
        @Option(help: "Only this provider.") var provider = ""
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let keys = try await withVault(global) { try await $0.listKeys(provider: provider) }
            global.output.table(["key", "id", "state", "version", "versions", "expiresAt", "references"], keys.map {
                ["\($0.provider)/\($0.ref.named.keyID)", $0.keyID, keyStateText($0), $0.currentVersion, $0.versionCount, isoTime(seconds: $0.expiresAt),
                 $0.references.values.reduce(0, +)]
            })
        }
    }

    /// A verb that takes one key and prints the key afterwards.
    protocol SingleKeyVerb: AsyncParsableCommand {
        var key: KeyArgument { get }
        var global: GlobalOptions { get }
        func perform(_ vault: VaultClient, _ key: KeyRef) async throws -> KeyInfo
    }

    struct Show: SingleKeyVerb {
        static let configuration = CommandConfiguration(abstract: "Show one key.")
        @OptionGroup var key: KeyArgument
        @OptionGroup var global: GlobalOptions
        func perform(_ vault: VaultClient, _ key: KeyRef) async throws -> KeyInfo { try await vault.getKey(key) }
    }

    struct Rotate: SingleKeyVerb {
        static let configuration = CommandConfiguration(abstract: "Add a new current version (old versions keep unwrapping).")
        @OptionGroup var key: KeyArgument
        @Option(help: "BYOK: the new version's key, as for `key import` (raw 32 bytes, 64 hex digits or base64); else the vault generates it.")
        var keyFile: String?
        @OptionGroup var global: GlobalOptions
        func perform(_ vault: VaultClient, _ key: KeyRef) async throws -> KeyInfo {
            if let keyFile { return try await vault.rotateKey(key, keyFile: keyFile) }
            return try await vault.rotateKey(key)
        }
    }

    struct Enable: SingleKeyVerb {
        static let configuration = CommandConfiguration(abstract: "Enable a disabled key.")
        @OptionGroup var key: KeyArgument
        @OptionGroup var global: GlobalOptions
        func perform(_ vault: VaultClient, _ key: KeyRef) async throws -> KeyInfo { try await vault.change(.enable, key) }
    }

    struct Disable: SingleKeyVerb {
        static let configuration = CommandConfiguration(abstract: "Disable a key: wrap and unwrap fail until it is enabled.")
        @OptionGroup var key: KeyArgument
        @OptionGroup var global: GlobalOptions
        func perform(_ vault: VaultClient, _ key: KeyRef) async throws -> KeyInfo { try await vault.change(.disable, key) }
    }

    struct Delete: SingleKeyVerb {
        static let configuration = CommandConfiguration(abstract: "Soft-delete a key (recoverable until purged).")
        @OptionGroup var key: KeyArgument
        @OptionGroup var global: GlobalOptions
        func perform(_ vault: VaultClient, _ key: KeyRef) async throws -> KeyInfo { try await vault.change(.delete, key) }
    }

    struct Recover: SingleKeyVerb {
        static let configuration = CommandConfiguration(abstract: "Recover a soft-deleted key.")
        @OptionGroup var key: KeyArgument
        @OptionGroup var global: GlobalOptions
        func perform(_ vault: VaultClient, _ key: KeyRef) async throws -> KeyInfo { try await vault.change(.recover, key) }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Destroy a deleted key for good (refused while data references it).")
        @OptionGroup var key: KeyArgument
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            try await withVault(global) { try await $0.purgeKey(key.ref) }
            global.output.record(["key": key.ref.description, "purged": true])
        }
    }

    /// Who a grant is for and which operations.
    struct GrantTarget: ParsableArguments {
        @Option(help: "Principal id.") var principal = ""
        @Option(help: "Account: the grant goes to its managed identity (resolved by the vault).") var account = ""
        @Option(help: "Operations, comma-separated: wrap, unwrap (revoke: empty = all).") var operations = ""

        func grant(_ key: KeyRef, requireOperations: Bool) throws -> AccessGrant {
            guard !principal.isEmpty || !account.isEmpty else { throw ValidationError("name --principal or --account") }
            var ops: Set<KeyOperation> = []
            for name in operations.split(separator: ",") {
                guard let op = KeyOperation(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                    throw ValidationError("unknown operation '\(name)'; use wrap, unwrap")
                }
                ops.insert(op)
            }
            if requireOperations && ops.isEmpty { throw ValidationError("--operations is required: wrap, unwrap or wrap,unwrap") }
            return AccessGrant(key: key, principalID: principal, operations: ops, accountID: account)
        }

        /// Grants (operations required) or revokes (empty = all) and prints the key's grants.
        func apply(_ key: KeyRef, add: Bool, _ global: GlobalOptions) async throws {
            let grant = try grant(key, requireOperations: add)
            printGrants(try await withVault(global) { add ? try await $0.grantAccess(grant) : try await $0.revokeAccess(grant) }, global.output)
        }
    }

    struct Grant: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Allow a principal (or an account's managed identity) to wrap/unwrap.")
        @OptionGroup var key: KeyArgument
        @OptionGroup var target: GrantTarget
        @OptionGroup var global: GlobalOptions
        func run() async throws { try await target.apply(key.ref, add: true, global) }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a principal's (or an account's managed identity's) wrap/unwrap access; an error when it has none.")
        @OptionGroup var key: KeyArgument
        @OptionGroup var target: GrantTarget
        @OptionGroup var global: GlobalOptions
        func run() async throws { try await target.apply(key.ref, add: false, global) }
    }

    struct Grants: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List who may use a key: principals, operations, and the account of a managed identity.")
        @OptionGroup var key: KeyArgument
        @OptionGroup var global: GlobalOptions
        func run() async throws { printGrants(try await withVault(global) { try await $0.listGrants(key.ref) }, global.output) }
    }
}

extension KeyCommands.SingleKeyVerb {
    func run() async throws {
        let ref = key.ref
        printKey(try await withVault(global) { try await perform($0, ref) }, global.output)
    }
}

func printKey(_ key: KeyInfo, _ output: Output) {
    output.record([
        "key": "\(key.provider)/\(key.ref.named.keyID)", "id": key.keyID, "state": keyStateText(key), "currentVersion": key.currentVersion,
        "versions": key.versionCount, "purgeProtection": key.purgeProtection, "imported": key.imported,
        "rotationDays": key.rotationDays, "retentionDays": key.retentionDays, "createdAt": isoTime(seconds: key.createdAt),
        "rotatedAt": isoTime(seconds: key.rotatedAt), "expiresAt": isoTime(seconds: key.expiresAt),
        "deletedAt": isoTime(seconds: key.deletedAt), "purgeAfter": isoTime(seconds: key.purgeAfter),
        "references": key.references.values.reduce(0, +),
    ])
}

func printGrants(_ grants: [AccessGrant], _ output: Output) {
    output.table(["key", "principal", "operations", "tenant", "account"], grants.map {
        [$0.key.description, $0.principalID, $0.operations.map(\.rawValue).sorted(), $0.tenant, $0.accountID]
    })
}

extension KeyCommands {
    /// `atrest key import`: bring your own key (BYOK). The CLI seals the
    /// 32-byte key to the vault's import public key (docs/KEY-PROVIDERS.md
    /// "Import wrapping"), so the key never travels in clear.
    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Import a 32-byte key as a new key (version 1), sealed on this side to the vault's import key.")
        @OptionGroup var key: KeyArgument
        @Option(help: "File holding the key: raw 32 bytes, 64 hex digits or base64 (keep it 0600; it is read, never printed).")
        var keyFile: String
        @OptionGroup var spec: KeySpecOptions
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let spec = spec.spec(key.ref.keyID)
            printKey(try await withVault(global) { try await $0.importKey(provider: key.ref.provider, spec, keyFile: keyFile) }, global.output)
        }
    }

    /// The settings `create` and `import` share.
    struct KeySpecOptions: ParsableArguments {
        @Option(help: "Expiry: ISO 8601 (2027-01-31T00:00:00Z) or Unix seconds (0: never).") var expiresAt = CLITime(seconds: 0)
        @Option(help: "Automatic rotation period in days (0: the provider's default).") var rotationDays: UInt32 = 0
        @Option(help: "Soft-delete retention in days (0: the provider's default).") var retentionDays: UInt32 = 0
        @Flag(help: "Refuse purging before the retention period ends.") var purgeProtection = false

        func spec(_ keyID: String) -> KeySpec {
            KeySpec(keyID: keyID, expiresAt: expiresAt.seconds, rotationDays: rotationDays, retentionDays: retentionDays,
                    purgeProtection: purgeProtection)
        }
    }
}
