import AtRestCrypto
import AtRestLocalState
import AtRestStorage
import Glibc
import Logging

/// Opening a front door's registry: the root key from its data directory
/// (`<data>/registry.key`, 64 hex, 0600, or `$ATREST_FRONTDOOR_ROOT_KEY`),
/// and, once, the import of a registry kept in the data directory by earlier
/// releases (`registry.sealed`, itself migrated from the older object-store
/// registry by `AccountRegistry+Legacy.swift`): every record is written to
/// the backend unless the backend already has that account, then the file
/// is renamed `registry.sealed.migrated` (kept, never deleted).
extension AccountRegistry {
    static let keyEnvironmentVariable = "ATREST_FRONTDOOR_ROOT_KEY"
    /// The label of `registry.sealed`.
    static let label = "frontdoor/registry"

    public static func open(dataDirectory: String, backend: any StorageBackend, refreshInterval: Duration = .seconds(1),
                            logger: Logger = Logger(label: "atrest.frontdoor.registry")) async throws -> AccountRegistry {
        try LocalFile.makeDirectory(dataDirectory)
        try FileAccess.requirePrivateTree(dataDirectory, what: "front door data directory")
        let paths = Paths(dataDirectory)
        try migrateLegacyKeyFile(paths.key)
        // A new key would leave existing records unreadable: create one only when there are none.
        let backendHasRecords = try await hasRecords(backend)
        let stateExists = LocalFile.exists(paths.state) || LocalFile.exists(paths.legacyStore) || backendHasRecords
        let rootKey = try RootKeyFile.resolve(path: paths.key, environmentVariable: keyEnvironmentVariable,
                                              mayCreate: !stateExists, service: "front door")
        let file = SealedFile(path: paths.state, label: label, rootKey: rootKey)
        try migrateLegacyStore(paths, rootKey: rootKey, into: file)
        let registry = try await AccountRegistry(backend: backend, rootKey: rootKey, refreshInterval: refreshInterval, logger: logger)
        do {
            try await registry.importSealedFile(file)
        } catch {
            registry.close()
            throw error
        }
        return registry
    }

    static func hasRecords(_ backend: any StorageBackend) async throws -> Bool {
        do {
            return try await !backend.list(RegistrySealing.container, prefix: RegistrySealing.namePrefix, continuation: nil, limit: 1).names.isEmpty
        } catch let error as StorageError where error.code == .containerNotFound {
            return false
        }
    }

    /// Writes the accounts of `registry.sealed` to the backend (an account
    /// the backend has already keeps its record there) and renames the file.
    func importSealedFile(_ file: SealedFile) async throws {
        guard let sealed = try file.read() else { return }
        let state = try sealed.withUnsafeBytes { try AccountRegistryState(serialized: $0) }
        var kept = 0
        for record in state.accounts {
            try await update(record.info.accountID) { existing in
                if existing != nil { kept += 1 }
                return existing ?? record
            }
        }
        guard rename(file.path, file.path + ".migrated") == 0 else {
            throw LocalFile.ioError("renaming the imported registry file", file.path)
        }
        try LocalFile.syncDirectory(LocalFile.parentDirectory(of: file.path))
        logger.notice("account registry imported into the backend", metadata: [
            "file": "\(file.path)", "accounts": "\(state.accounts.count)", "alreadyThere": "\(kept)", "renamedTo": "\(file.path).migrated"])
    }

    /// The files of a front door data directory.
    struct Paths {
        let key: String
        /// The registry of the previous release (imported, then renamed).
        let state: String
        /// The object store that held the registry before `registry.sealed`.
        let legacyStore: String
        init(_ dataDirectory: String) {
            key = "\(dataDirectory)/registry.key"
            state = "\(dataDirectory)/registry.sealed"
            legacyStore = "\(dataDirectory)/registry"
        }
    }
}
