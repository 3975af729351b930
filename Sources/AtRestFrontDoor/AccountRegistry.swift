import AtRestCrypto
import AtRestStorage
import AtRestWire
import Logging
import Synchronization

/// The accounts of a cluster, one sealed record per account on a storage
/// backend (`RegistrySealing`: keyed-hash names, records sealed under the
/// front door root key), so any number of front doors sharing the backend
/// and the root key serve the same accounts.
///
/// Writes go to the backend first, conditionally: a create is a put that
/// must not find the name (the loser of a race gets ALREADY_EXISTS from its
/// change closure), an update re-reads the record and puts it only over the
/// version it read, re-running the change on `.conditionFailed`; a delete
/// removes only the version it read.
///
/// Reads: the per-call lookup (`record`) is a dictionary hit. A miss reads the
/// backend (`lookup`; on the broker's loop, `admissionRecord` starts that read
/// and answers UNAVAILABLE with retry_after_ms). Every `refreshInterval` a
/// background pass lists the container, stats every record and rereads the
/// changed ones, so a change made through another front door (a new key, a
/// new tenant, a deleted account) is served here within about
/// `refreshInterval` plus one pass (docs/OPERATIONS.md "Several front doors").
/// `all` reads the backend.
public final class AccountRegistry: Sendable {
    let backend: any StorageBackend
    let sealing: RegistrySealing
    let cache = Mutex(RegistryCache())
    let logger: Logger
    public let refreshInterval: Duration
    private let refreshTask = Mutex<Task<Void, Never>?>(nil)
    static let maxWriteAttempts = 64

    /// Opens the registry on `backend` (creating its container), loads every
    /// record and starts the background refresh.
    public init(backend: any StorageBackend, rootKey: SecretBytes, refreshInterval: Duration = .seconds(1),
                logger: Logger = Logger(label: "atrest.frontdoor.registry")) async throws {
        self.backend = backend
        sealing = try RegistrySealing(rootKey: rootKey)
        self.refreshInterval = refreshInterval
        self.logger = logger
        do { try await backend.createContainer(RegistrySealing.container) } catch let error as StorageError where error.code == .alreadyExists {}
        await refresh()
        startRefreshing()
    }

    deinit { refreshTask.withLock { $0?.cancel() } }

    /// Stops the background refresh.
    public func close() { refreshTask.withLock { $0?.cancel() } }

    /// The cached record (no backend read): what the broker's loop uses.
    public func record(_ account: String) -> AccountRecord? { cache.withLock { $0.record(account) } }

    /// The record, from the cache or else from the backend (an account
    /// created through another front door is found at once).
    public func lookup(_ account: String) async throws -> AccountRecord? {
        if let record = record(account) { return record }
        return try await fresh(account)
    }

    /// The record as the backend has it now, bypassing the cache (which
    /// lags another front door's writes by up to the refresh interval), and
    /// remembered. A read: nothing is written to the backend.
    public func fresh(_ account: String) async throws -> AccountRecord? {
        let since = cache.withLock { $0.stamp }
        guard let found = try await read(account) else { return nil }
        remember(account, found.record, found.version, since: since)
        return found.record
    }

    /// Every account, read from the backend, in account-id order.
    public func all() async throws -> [AccountRecord] {
        var records: [AccountRecord] = []
        for objectName in try await listNames() {
            let name = try BackendName(RegistrySealing.container, objectName)
            guard let stored = try await readStored(name, account: nil) else { continue }
            records.append(stored.record)
        }
        return records.sorted { $0.info.accountID < $1.info.accountID }
    }

    /// Applies `change` to the record as the backend has it (nil: absent;
    /// returning nil deletes) and writes the result under the version read;
    /// when another writer got there first, `change` runs again on the new
    /// record. The cache changes only once the backend did.
    @discardableResult
    public func update(_ account: String, _ change: (AccountRecord?) throws -> AccountRecord?) async throws -> AccountRecord? {
        let name = try sealing.name(account)
        for _ in 0..<Self.maxWriteAttempts {
            let current = try await read(account)
            let changed = try change(current?.record)
            if let current, changed == current.record {
                remember(account, current.record, current.version, since: nil)
                return changed
            }
            guard let next = changed else {
                guard let current else { return nil }
                do {
                    try await backend.delete(name, condition: .mustMatch(current.version))
                } catch let error as StorageError where error.code == .conditionFailed || error.code == .notFound {
                    continue
                }
                forget(account)
                return nil
            }
            guard next.info.accountID == account else {
                throw RPCStatus(.internal, "a registry change for account '\(account)' returned account '\(next.info.accountID)'")
            }
            do {
                let version = try await backend.put(name, try sealing.seal(next, as: name),
                                                    condition: current.map { .mustMatch($0.version) } ?? .mustNotExist)
                remember(account, next, version, since: nil)
                return next
            } catch let error as StorageError where error.code == .conditionFailed {
                continue
            }
        }
        throw RPCStatus(.aborted, "account '\(account)' kept changing under \(Self.maxWriteAttempts) attempts to update it; retry")
    }

    /// The record of `account` and its version on the backend (nil: absent).
    func read(_ account: String) async throws -> (record: AccountRecord, version: BackendVersion)? {
        try await readStored(try sealing.name(account), account: account)
    }

    func readStored(_ name: BackendName, account: String?) async throws -> (record: AccountRecord, version: BackendVersion)? {
        let stored: (bytes: [UInt8], version: BackendVersion)
        do {
            stored = try await backend.get(name)
        } catch let error as StorageError where error.code == .notFound {
            return nil
        } catch let error as StorageError {
            throw RPCStatus(.unavailable, "the account registry's backend failed: \(error.message)", retryAfterMs: 500)
        }
        return (try sealing.open(stored.bytes, as: name, account: account), stored.version)
    }

    /// Every record name in the registry container.
    func listNames() async throws -> [String] { try await Self.listNames(on: backend) }

    static func listNames(on backend: any StorageBackend) async throws -> [String] {
        var names: [String] = []
        var continuation: String?
        repeat {
            let page: BackendListPage
            do {
                page = try await backend.list(RegistrySealing.container, prefix: RegistrySealing.namePrefix, continuation: continuation, limit: 1000)
            } catch let error as StorageError {
                throw RPCStatus(.unavailable, "the account registry's backend failed: \(error.message)", retryAfterMs: 500)
            }
            names += page.names
            continuation = page.continuation
        } while continuation != nil
        return names
    }

    private func startRefreshing() {
        let interval = refreshInterval
        let task = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard let self, !Task.isCancelled else { return }
                await self.refresh()
            }
        }
        refreshTask.withLock { $0 = task }
    }
}

/// A front door start-up or configuration failure.
public struct FrontDoorError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
