import AtRestCrypto

/// The orphan collector of an account's disks and files
/// (`ChunkedData.collectOrphans`, docs/FORMAT.md "Extents"): lists the
/// account's extent container once and collects each region's orphans.
/// Run by the workers for the front door's periodic block collection
/// (`AccountData/CollectBlocks`); two passes at once are harmless (a
/// tombstone is written conditionally, a delete of a deleted object is
/// nothing).
public enum OrphanExtents {
    public struct Result: Sendable, Equatable {
        /// Extent objects deleted.
        public var removed = 0
        /// Orphans left for a later pass: younger than the grace, or named by a batch that landed first.
        public var kept = 0
        /// Orphans that cannot be judged (their region map is missing, or
        /// they fail their integrity check): left until the disk or file is deleted.
        public var skipped = 0
    }

    /// Collects the orphaned extents of every disk and file of `account`
    /// made more than `graceSeconds` before `now` (ms since the epoch).
    public static func collect(backend: any StorageBackend, account: String, accountKey: AccountKey, graceSeconds: Int,
                               now: Int64 = QueueStore.wallClock()) async throws -> Result {
        try await collect(backend: backend, account: account, accountKey: accountKey, graceSeconds: graceSeconds, now: now,
                          geometries: [.disk, .file])
    }

    /// The same for the data of `geometries` (tests use small ones); told apart by their map prefixes.
    static func collect(backend: any StorageBackend, account: String, accountKey: AccountKey, graceSeconds: Int, now: Int64,
                        geometries: [ChunkedData.Geometry]) async throws -> Result {
        let namespace = try accountKey.accountContainer(account)
        let container = try BackendContainer("\(namespace.id)/x")
        // Data id (hex) → region → extent ids, per geometry.
        var found: [Int: [String: [UInt64: [[UInt8]]]]] = [:]
        var continuation: String?
        repeat {
            let page: BackendListPage
            do {
                page = try await backend.list(container, prefix: "", continuation: continuation, limit: 1000)
            } catch let error as StorageError where error.code == .containerNotFound {
                return Result()
            }
            for name in page.names {
                for (index, geometry) in geometries.enumerated() {
                    let prefix = "\(geometry.mapPrefix)x-"
                    guard name.hasPrefix(prefix) else { continue }
                    let hexID = String(name.dropFirst(prefix.utf8.count).prefix(32))
                    guard let id = Hex.decode(hexID), id.count == 16,
                          let parts = data(backend, geometry, account, id, namespace, accountKey).extentParts(ofName: name) else { continue }
                    found[index, default: [:]][hexID, default: [:]][parts.region, default: []].append(parts.id)
                }
            }
            continuation = page.continuation
        } while continuation != nil
        let cutoff = UInt64(max(0, now - Int64(graceSeconds) * 1000))
        var total = ChunkedData.OrphanCount()
        for (index, byData) in found {
            for (hexID, regions) in byData {
                let data = data(backend, geometries[index], account, Hex.decode(hexID)!, namespace, accountKey)
                for (region, ids) in regions {
                    total = total + (try await data.collectOrphans(region: region, ids: ids, before: cutoff))
                }
            }
        }
        return Result(removed: total.removed, kept: total.kept, skipped: total.skipped)
    }

    /// The chunk engine of one disk's or file's data, as the collector uses it (it never makes a region map).
    private static func data(_ backend: any StorageBackend, _ geometry: ChunkedData.Geometry, _ account: String, _ id: [UInt8],
                             _ namespace: BackendContainer, _ accountKey: AccountKey) -> ChunkedData {
        ChunkedData(backend: backend, geometry: geometry, account: account, id: id, container: namespace, accountKey: accountKey) { _ in }
    }
}
