import AtRestCrypto
import Glibc

/// Message queues on a `StorageBackend`'s record maps, sealed under the
/// account's key chain (docs/FORMAT.md "Queues").
///
/// - The account's queue directory is the record map `a-<account hash>` /
///   `queues`: one record per queue, key `q-<H("queue", account, name)>`,
///   value the sealed `QueueRecord` (name, random queue id, creation time,
///   metadata).
/// - Each queue's messages are the record map `a-<account hash>` /
///   `q-<queue id>`: one record per message, keyed by next-visible time,
///   insertion time and message id (`MessageRecord.key`), so the head of
///   the map is the next message to hand out. Every change of a message
///   is one conditional batch on the value that was read: of two callers
///   claiming, updating or deleting the same message, exactly one succeeds,
///   on any number of workers and either backend.
///
/// A queue id is random per create: a queue deleted and created again gets
/// a new, empty map, and a crash between the steps of a create or delete
/// leaves only an unnamed map behind, never messages under a new queue.
public final class QueueStore: Sendable {
    public let backend: any StorageBackend
    /// Milliseconds since the Unix epoch (tests pass their own).
    let clock: @Sendable () -> Int64
    /// Message maps of queues looked up lately (`withMessageMap`).
    let maps: RecentLookups<MessageMap>

    /// `mapLifetime`: how long a queue looked up is used without reading its directory record again (`RecentLookups`).
    public init(backend: any StorageBackend, clock: @escaping @Sendable () -> Int64 = QueueStore.wallClock,
                mapLifetime: Duration = .seconds(1)) {
        self.backend = backend
        self.clock = clock
        maps = RecentLookups(lifetime: mapLifetime)
    }

    public static let wallClock: @Sendable () -> Int64 = {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    // MARK: Names
    // Not inlined: the typed throws of `BackendContainer`/`RecordMapName`
    // inlined into an async caller crash swift 6.3.1's release builds
    // (signal 11 splitting the caller's coroutine in LLVM's CoroSplit).

    @inline(never)
    func directory(_ account: String, _ key: AccountKey) throws -> RecordMapName {
        try RecordMapName(try key.accountContainer(account), "queues")
    }

    func directoryKey(_ account: String, _ queue: String, _ key: AccountKey) throws -> String {
        "q-\(try key.hashName(["queue", account, queue]))"
    }

    @inline(never)
    func messages(_ account: String, _ queueID: [UInt8], _ key: AccountKey) throws -> RecordMapName {
        try RecordMapName(try directory(account, key).container, "q-\(Hex.encode(queueID))")
    }

    static func queueContext(_ account: String) -> [UInt8] { SealedRecord.context(["queue", account]) }
    static func messageContext(_ account: String, _ queueID: [UInt8]) -> [UInt8] {
        SealedRecord.context(["message", account, Hex.encode(queueID)])
    }

    static func queueNotFound(_ account: String, _ queue: String) -> StorageError {
        StorageError(.notFound, "queue '\(queue)' does not exist in account '\(account)'")
    }

    // MARK: Queue records

    /// The queue's record and its sealed bytes (for a conditional change), or `.notFound`.
    func queueRecord(_ account: String, _ queue: String, _ key: AccountKey) async throws -> (record: QueueRecord, sealed: [UInt8]) {
        try QueueLimits.validate(queueName: queue)
        let directory = try directory(account, key), recordKey = try directoryKey(account, queue, key)
        let found: [String: [UInt8]]
        do {
            found = try await backend.records(directory, keys: [recordKey])
        } catch let error as StorageError where error.code == .notFound {
            throw Self.queueNotFound(account, queue)
        }
        guard let sealed = found[recordKey] else { throw Self.queueNotFound(account, queue) }
        let record = try QueueRecord(decoding: try SealedRecord.open(sealed, context: Self.queueContext(account), map: directory,
                                                                     key: recordKey, accountKey: key))
        guard record.name == queue else { throw StorageError.integrity("queue record \(recordKey) names another queue") }
        return (record, sealed)
    }

    /// A queue's message map, as a call works on it.
    struct MessageMap: Sendable {
        var id: [UInt8]
        var map: RecordMapName
        var context: [UInt8]
    }

    /// The message map of an existing queue, read from its directory record.
    func messageMap(_ account: String, _ queue: String, _ key: AccountKey) async throws -> MessageMap {
        let record = try await queueRecord(account, queue, key).record
        return MessageMap(id: record.id, map: try messages(account, record.id, key), context: Self.messageContext(account, record.id))
    }

    /// Runs `body` on the message map of an existing queue: the one this
    /// store looked up within the last `mapLifetime`, when it has it
    /// (`RecentLookups` says why that is safe, and what happens when the
    /// queue was deleted or made again since).
    func withMessageMap<T>(_ account: String, _ queue: String, _ key: AccountKey,
                           _ body: (_ map: RecordMapName, _ context: [UInt8]) async throws -> T) async throws -> T {
        try QueueLimits.validate(queueName: queue)
        return try await maps.run(.init(account: account, name: queue, keyCheck: key.checkValue), id: \.id,
                                  lookUp: { try await messageMap(account, queue, key) }) { try await body($0.map, $0.context) }
    }
}
