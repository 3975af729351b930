import AtRestCrypto
import AtRestLocalState
import AtRestStorage
import Glibc

/// Reads data directories written before the registry moved to
/// `AtRestLocalState` (docs/OPERATIONS.md "Front door data directory"):
/// `registry.key` held the 32 raw key bytes, and the registry was one object
/// in an object store under `registry/`. Both are migrated once, at start-up:
/// the key file is rewritten as 64 hex (same key), the registry is re-sealed
/// into `registry.sealed` and the old store renamed to `registry.migrated`;
/// `registry.sealed` is then imported into the backend (`AccountRegistry+Open.swift`).
extension AccountRegistry {
    static let legacyKeySize = 32

    /// Rewrites a raw 32-byte key file in the root-key format (hex); the key is unchanged.
    static func migrateLegacyKeyFile(_ path: String) throws {
        guard getenv(keyEnvironmentVariable) == nil, LocalFile.exists(path) else { return }
        try LocalFile.requireOwnerOnly(path, what: "front door root key file")
        guard var bytes = try LocalFile.read(path), bytes.count == legacyKeySize else { return }
        defer { for i in bytes.indices { bytes[i] = 0 } }
        var text = Array((Hex.encode(bytes) + "\n").utf8)
        defer { for i in text.indices { text[i] = 0 } }
        try LocalFile.writeAtomically(text, to: path)
    }

    /// Moves a registry kept in the old object store into the sealed file.
    static func migrateLegacyStore(_ paths: Paths, rootKey: SecretBytes, into file: SealedFile) throws {
        guard !file.exists, LocalFile.exists(paths.legacyStore) else { return }
        let key = try AccountKey(key: rootKey, reference: KeyReference(provider: "frontdoor", keyID: "registry", keyVersion: 1, accountKeyVersion: 1))
        var state = AccountRegistryState(accounts: [])
        // The one object of that store, read as a file (that store's layout:
        // a-<account hash>/c-<container hash>/o-<object hash>, format v1).
        let path = "\(paths.legacyStore)/a-\(try key.hashName(["account", "frontdoor"]))/c-\(try key.hashName(["container", "registry"]))"
            + "/o-\(try key.hashName(["object", "registry", "accounts"]))"
        if let sealed = try LocalFile.read(path) {
            // Created but never written (no file): an empty registry.
            let (metadata, data) = try ObjectFormat.open(sealed, accountKey: key,
                                                         context: ObjectIdentity(account: "frontdoor", container: "registry").context)
            guard metadata.name == "accounts" else { throw FrontDoorError("legacy registry store holds another object's header") }
            state = try AccountRegistryState(serialized: data)
        }
        try file.write(state.serialized())
        guard rename(paths.legacyStore, paths.legacyStore + ".migrated") == 0 else {
            throw LocalFile.ioError("renaming the migrated registry store", paths.legacyStore)
        }
        try LocalFile.syncDirectory(LocalFile.parentDirectory(of: paths.legacyStore))
    }
}
