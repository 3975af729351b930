import Synchronization

/// Disks a `DiskStore` looked up in the last `lifetime`, by account, disk
/// name and account key (its check value, no secret): id, size and the
/// account's namespace, so a page call skips hashing names and reading and
/// opening the directory record. Holds no key material; emptied when it
/// reaches `limit` entries.
///
/// An entry can be stale: the disk deleted, created again or resized by
/// another worker. A data call that meets a missing region map checks the
/// disk again before it reads zeros or creates the map (`DiskStore.confirm`,
/// the owner check of `DiskStore.chunks`), so no data lands in a deleted disk's maps
/// because of an entry; a stale size lets a call on another worker read
/// or write up to the size the disk had before a resize, for at most
/// `lifetime` (docs/FORMAT.md "Disks (mutable objects)"). The store's own
/// resizes and deletes drop the entry at once.
final class DiskCache: Sendable {
    struct Key: Hashable {
        var account: String
        var disk: String
        var keyCheck: [UInt8]
    }

    private struct Entry {
        var disk: DiskStore.Disk
        var expires: ContinuousClock.Instant
    }

    private let entries = Mutex<[Key: Entry]>([:])
    static let limit = 10_000
    static let lifetime = Duration.seconds(1)

    subscript(key: Key) -> DiskStore.Disk? {
        get {
            entries.withLock { entries in
                guard let entry = entries[key] else { return nil }
                guard entry.expires > .now else { entries[key] = nil; return nil }
                return entry.disk
            }
        }
        set {
            entries.withLock { entries in
                if newValue != nil, entries.count >= Self.limit { entries = [:] }
                entries[key] = newValue.map { Entry(disk: $0, expires: .now + Self.lifetime) }
            }
        }
    }
}
