import Synchronization

/// Tables a `TableStore` looked up lately, so a call on a table used within
/// `lifetime` skips reading and opening the table's directory record: one
/// backend read (a trip through `BlockingIO` on the local backend, an OSD
/// round trip on RADOS) and one GCM open, half of a point get's storage work.
///
/// Why an entry can be trusted without asking the directory again: a
/// table's map is named by the table's random id and never reused, and both
/// backends answer `.notFound` for a map that was deleted. A table deleted
/// (or deleted and made again under the same name, with a new id) leaves an
/// entry that names a gone map, every call on it fails `.notFound`, and
/// `TableStore.onTable` then looks the name up afresh and runs the call
/// once more on what the directory holds now. So calls on a cached table
/// see a delete as soon as the delete has finished, as they do without it.
///
/// `lifetime` bounds the one case that check misses: a delete interrupted
/// (a crash) between removing the table's name and removing its map leaves
/// the map live, and a store that had the table cached may go on serving it
/// for up to that long. Entries are per process and hold no key material
/// (a map name, the table's id and name); keyed by the account key's check
/// value too, so another key generation never finds them. Emptied when it
/// reaches `limit` entries.
final class TableRecordCache: Sendable {
    struct Key: Hashable {
        var directory: RecordMapName
        var recordKey: String
        var keyCheck: [UInt8]
    }

    private let entries = Mutex<[Key: (table: TableStore.Table, expires: ContinuousClock.Instant)]>([:])
    let lifetime: Duration
    let limit: Int

    init(lifetime: Duration = .seconds(1), limit: Int = 4096) {
        self.lifetime = lifetime
        self.limit = limit
    }

    subscript(key: Key) -> TableStore.Table? {
        get {
            entries.withLock { entries in
                guard let entry = entries[key] else { return nil }
                guard entry.expires > .now else {
                    entries[key] = nil
                    return nil
                }
                return entry.table
            }
        }
        set {
            let expires = ContinuousClock.now + lifetime
            entries.withLock { entries in
                guard let newValue else { entries[key] = nil; return }
                if entries.count >= limit, entries[key] == nil { entries.removeAll(keepingCapacity: true) }
                entries[key] = (newValue, expires)
            }
        }
    }
}
