import AtRestCrypto
import AtRestLocalState
import AtRestWire
import Synchronization

/// The accounts the front door knows, in memory for the per-call lookup and
/// persisted encrypted at rest (account names, owners and wrapped keys are
/// metadata worth hiding).
///
/// Persistence is the services' local state (`AtRestLocalState`), as for the
/// vault and identity: the whole registry is one sealed file
/// (`<data>/registry.sealed`) under the front door's root key
/// (`<data>/registry.key`, 64 hex, 0600, or `$ATREST_FRONTDOOR_ROOT_KEY`),
/// written atomically and durably. Data directories of earlier releases (raw
/// 32-byte key, registry in an object store) are migrated at start-up
/// (`AccountRegistry+Legacy.swift`, docs/OPERATIONS.md).
public final class AccountRegistry: Sendable {
    private let file: SealedFile
    private let records: Mutex<[String: AccountRecord]>
    private let writeLock = Mutex(())
    static let keyEnvironmentVariable = "ATREST_FRONTDOOR_ROOT_KEY"
    static let label = "frontdoor/registry"

    public init(dataDirectory: String) throws {
        try LocalFile.makeDirectory(dataDirectory)
        try FileAccess.requirePrivateTree(dataDirectory, what: "front door data directory")
        let paths = Paths(dataDirectory)
        try Self.migrateLegacyKeyFile(paths.key)
        let stateExists = LocalFile.exists(paths.state) || LocalFile.exists(paths.legacyStore)
        let rootKey = try RootKeyFile.resolve(path: paths.key, environmentVariable: Self.keyEnvironmentVariable,
                                              mayCreate: !stateExists, service: "front door")
        file = SealedFile(path: paths.state, label: Self.label, rootKey: rootKey)
        try Self.migrateLegacyStore(paths, rootKey: rootKey, into: file)
        var loaded: [String: AccountRecord] = [:]
        if let sealed = try file.read() {
            let state = try sealed.withUnsafeBytes { try AccountRegistryState(serialized: $0) }
            for record in state.accounts { loaded[record.info.accountID] = record }
        }
        records = Mutex(loaded)
    }

    public func record(_ account: String) -> AccountRecord? { records.withLock { $0[account] } }
    public var all: [AccountRecord] { records.withLock { Array($0.values) }.sorted { $0.info.accountID < $1.info.accountID } }

    /// Applies `change` to the record (nil: absent) and persists the result
    /// before it becomes visible; a failed write changes nothing.
    @discardableResult
    public func update(_ account: String, _ change: (AccountRecord?) throws -> AccountRecord?) throws -> AccountRecord? {
        try writeLock.withLock { _ in
            var next = records.withLock { $0 }
            next[account] = try change(next[account])
            try file.write(Self.state(next).serialized())
            records.withLock { $0 = next }
            return next[account]
        }
    }

    static func state(_ records: [String: AccountRecord]) -> AccountRegistryState {
        AccountRegistryState(accounts: records.values.sorted { $0.info.accountID < $1.info.accountID })
    }

    /// The files of a front door data directory.
    struct Paths {
        let key: String
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

/// A front door start-up or configuration failure.
public struct FrontDoorError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
