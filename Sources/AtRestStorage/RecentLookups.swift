import Synchronization

/// What a store looked up by name lately (a queue's message map, a table;
/// a disk too, which checks a kept entry its own way: `DiskStore.withDisk`),
/// so a call on a queue or table used within `lifetime` skips hashing its
/// name and reading and opening its directory record: one backend read (a
/// trip through `BlockingIO` on the local backend, an OSD round trip on
/// RADOS) and one GCM open, for a point get or a message put half of the
/// storage work.
///
/// Why a kept value can be used without asking the directory again: the
/// record map behind a queue or table is named by its random id and never
/// reused, and both backends answer `.notFound` for a map that was deleted
/// (a RADOS write asserts that the object exists, so none creates it
/// again). A queue or table deleted, or deleted and made again under the
/// same name with a new id, leaves a value naming a gone map; the call on
/// it fails `.notFound`, and `run` then looks the name up afresh and runs
/// the call once more on what the directory holds now. So a call sees a
/// delete as soon as the delete has finished, as without this.
///
/// `lifetime` bounds the one case that misses: a delete interrupted (a
/// crash) between removing the name and removing the map leaves the map
/// live and unnamed, and a store that kept it may go on using it for up to
/// that long. Per process; values hold no key material (map names, ids,
/// names); keyed by the account key's check value too (no secret), so
/// another key generation never finds them. Emptied when it reaches
/// `limit` entries.
final class RecentLookups<Value: Sendable>: Sendable {
    struct Key: Hashable {
        var account: String
        /// As the directory is keyed by it (a table's lowercased).
        var name: String
        var keyCheck: [UInt8]
    }

    private let entries = Mutex<[Key: (value: Value, expires: ContinuousClock.Instant)]>([:])
    let lifetime: Duration
    let limit: Int

    init(lifetime: Duration = .seconds(1), limit: Int = 10_000) {
        self.lifetime = lifetime
        self.limit = limit
    }

    subscript(key: Key) -> Value? {
        get {
            entries.withLock { entries in
                guard let entry = entries[key] else { return nil }
                guard entry.expires > .now else {
                    entries[key] = nil
                    return nil
                }
                return entry.value
            }
        }
        set {
            let expires = ContinuousClock.now + lifetime
            entries.withLock { entries in
                guard let newValue else {
                    entries[key] = nil
                    return
                }
                if entries.count >= limit, entries[key] == nil { entries.removeAll(keepingCapacity: true) }
                entries[key] = (newValue, expires)
            }
        }
    }

    /// `body` run on the value of `key`: the one kept, when there is one,
    /// else the one `lookUp` finds (then kept). When `body` fails
    /// `.notFound` on a kept value (its map gone, or just an item of the
    /// call's own absent), `lookUp` runs again: a value of another `id`
    /// (the name was deleted and made again) gets `body` once more, the
    /// same one means the `.notFound` was the call's own and it is thrown,
    /// and `lookUp`'s own `.notFound` (the name is gone) drops the entry
    /// and is thrown.
    func run<R>(_ key: Key, id: (Value) -> [UInt8], lookUp: () async throws -> Value,
                _ body: (Value) async throws -> R) async throws -> R {
        func fresh() async throws -> Value {
            do {
                let value = try await lookUp()
                self[key] = value
                return value
            } catch let error as StorageError where error.code == .notFound {
                self[key] = nil
                throw error
            }
        }
        guard let kept = self[key] else { return try await body(try await fresh()) }
        do {
            return try await body(kept)
        } catch let error as StorageError where error.code == .notFound {
            let current = try await fresh()
            guard id(current) != id(kept) else { throw error }
            return try await body(current)
        }
    }
}
