import Synchronization

/// The message maps of queues a `QueueStore` has looked up, by account,
/// queue name and account key (its check value, which is no secret), so a
/// message call skips hashing the names and reading and opening the
/// queue's directory record. An entry goes stale when the queue is
/// deleted (its map is deleted with it) and perhaps created again under a
/// new id, by this or another worker: a call that meets `.notFound` on a
/// cached map looks the queue up again (`QueueStore.withMessageMap`).
/// Holds no key material; emptied when it reaches `limit` entries.
final class QueueMapCache: Sendable {
    struct Key: Hashable {
        var account: String
        var queue: String
        var keyCheck: [UInt8]
    }

    struct Entry: Sendable {
        var id: [UInt8]
        var map: RecordMapName
        var context: [UInt8]
    }

    private let entries = Mutex<[Key: Entry]>([:])
    static let limit = 10_000

    subscript(key: Key) -> Entry? {
        get { entries.withLock { $0[key] } }
        set {
            entries.withLock { entries in
                if newValue != nil, entries.count >= Self.limit { entries = [:] }
                entries[key] = newValue
            }
        }
    }
}
