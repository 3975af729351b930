import AtRestCrypto
import AtRestLocalState
import AtRestWire
import Glibc

/// A stopped vault's key-encryption keys, opened read-only from its data
/// directory for offline recovery (`atrest-recover`, docs/OPERATIONS.md
/// "Offline recovery"): the same plug-ins and state files as the vault,
/// with no grants, no audit and no write of any kind (the host refuses
/// `store_state`). Whoever holds the vault root key and the directory holds
/// every KEK anyway; this only saves them from decoding it by hand.
///
/// A provider whose state file does not open is a refusal naming the file:
/// with a wrong root key nothing can be read.
public final class OfflineKeyring: Sendable {
    let providers: [String: LoadedProvider]

    /// Opens every provider that has a state file in `<dataDirectory>/providers`
    /// (`specs` override how a name is loaded; default `ProviderSpec.named`).
    public init(dataDirectory: String, rootKey: SecretBytes, specs: [ProviderSpec] = [],
                pluginDirectory: String? = nil) throws(VaultError) {
        let stateDirectory = dataDirectory + "/providers"
        let names = (try vaulted { () throws(LocalStateError) in try LocalFile.list(stateDirectory) } ?? [])
            .filter { $0.hasSuffix(".state") }.map { String($0.dropLast(".state".count)) }.sorted()
        guard !names.isEmpty else {
            throw VaultError(.notFound, "no provider state in '\(stateDirectory)': is this a vault data directory?")
        }
        let directory = pluginDirectory ?? KeyVaultConfiguration.defaultPluginDirectory()
        var providers: [String: LoadedProvider] = [:]
        for name in names {
            let spec = specs.first { $0.name == name } ?? ProviderSpec.named(name)
            let file = SealedFile(path: "\(stateDirectory)/\(name).state", label: "provider:\(name)", rootKey: rootKey)
            guard (try? file.read()) != nil else {
                throw VaultError(.corrupt, "the vault root key does not open providers/\(name).state: wrong key or damaged file")
            }
            let table = try PluginLoader.load(spec, directory: directory)
            let provider = try LoadedProvider(spec: spec, table: table, context: ProviderHostContext(state: file, clock: { Int64(time(nil)) }, readOnly: true))
            if let reason = provider.unavailableReason { throw VaultError(.corrupt, reason) }
            providers[name] = provider
        }
        self.providers = providers
    }

    /// The providers opened, by name.
    public var providerNames: [String] { providers.keys.sorted() }

    /// Unwraps a wrapped account key bound to `context`, exactly as the vault
    /// does after its policy checks. A disabled, deleted or revoked key is
    /// refused by its provider, as in the vault: enable or recover it first.
    public func unwrap(_ blob: [UInt8], context: [UInt8]) throws(VaultError) -> (key: SecretBytes, ref: KeyRef) {
        let parsed = try WrappedKey(parsing: blob)
        guard let provider = providers[parsed.key.provider] else {
            throw VaultError(.notFound, "provider '\(parsed.key.provider)' of \(parsed.key) has no state in the vault data directory")
        }
        return (try KeyVault.unwrap(parsed, with: provider, context: context), parsed.key)
    }
}
