import AtRestSQLite
import Synchronization

/// One record map of the `local` backend: a SQLite database file in WAL
/// mode with `synchronous=FULL` (every commit fsyncs the log before it
/// returns), opened once per process and used by one call at a time.
/// Several processes on one host share the file safely: a write is one
/// `BEGIN IMMEDIATE` transaction, so the conditions are checked under the
/// database's write lock, and SQLite's shared-memory index of the log keeps
/// every reader current (docs/FORMAT.md "Record maps").
///
/// A map exists while its `state` row says so: deleting empties the map and
/// clears the flag instead of unlinking the file, so a connection another
/// process keeps open never writes into a file that is gone.
///
/// Group commit: batches that arrive while a transaction commits wait for
/// the connection; the first of them to get it applies all that waited in
/// one transaction (each batch's conditions checked before its changes, a
/// batch whose condition fails changes nothing and fails alone), so one
/// fsync acknowledges many batches.
final class LocalRecordMap: Sendable {
    private let connection: Mutex<SQLiteConnection>
    private let waiting = Mutex<[PendingBatch]>([])

    static let schema = """
        PRAGMA journal_mode=WAL;
        PRAGMA synchronous=FULL;
        CREATE TABLE IF NOT EXISTS records(key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS state(id INTEGER PRIMARY KEY CHECK (id = 0), live INTEGER NOT NULL);
        """

    init(path: String, create: Bool) throws {
        let connection = try Self.mapping { try SQLiteConnection(path: path, create: create) }
        try Self.mapping { try connection.execute(Self.schema) }
        self.connection = Mutex(connection)
    }

    /// Runs `body` on the connection, SQLite errors as `StorageError`.
    func with<R: Sendable>(_ body: (SQLiteConnection) throws -> R) throws -> R {
        try connection.withLock { connection in try Self.mapping { try body(connection) } }
    }

    /// Applies `batch` (validated) durably, in a group commit with the
    /// batches of other callers waiting at the same time.
    func apply(_ batch: RecordBatch, _ map: RecordMapName) throws {
        let pending = PendingBatch(batch)
        waiting.withLock { $0.append(pending) }
        try with { connection in
            // An earlier group may have taken this batch along.
            guard pending.result == nil else { return }
            let group = waiting.withLock { waiting in
                defer { waiting = [] }
                return waiting
            }
            Self.commit(group, map, connection)
        }
        try pending.result!.get()
    }

    /// One transaction for `group`; sets every batch's result.
    private static func commit(_ group: [PendingBatch], _ map: RecordMapName, _ connection: SQLiteConnection) {
        var outcomes: [Result<Void, any Error>] = []
        do {
            try connection.transaction {
                try requireLive(connection, map)
                for pending in group {
                    guard try conditionsHold(pending.batch, connection) else {
                        outcomes.append(.failure(StorageError(.conditionFailed, "record map \(map): a condition of the batch does not hold; nothing changed")))
                        continue
                    }
                    for key in pending.batch.removes { try connection.query("DELETE FROM records WHERE key = ?1", [.text(key)]) }
                    for (key, value) in pending.batch.sets {
                        try connection.query("INSERT INTO records(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                                             [.text(key), .blob(value)])
                    }
                    outcomes.append(.success(()))
                }
            }
            for (pending, outcome) in zip(group, outcomes) { pending.result = outcome }
        } catch {
            // Nothing of the group was committed.
            let failure = storageError(error)
            for pending in group { pending.result = .failure(failure) }
        }
    }

    private static func conditionsHold(_ batch: RecordBatch, _ connection: SQLiteConnection) throws -> Bool {
        for condition in batch.conditions {
            let current = try connection.query("SELECT value FROM records WHERE key = ?1", [.text(condition.key)]).first?.first?.bytes
            switch condition {
            case .absent: if current != nil { return false }
            case .equals(_, let value): if current != value { return false }
            }
        }
        return true
    }

    /// `.notFound` unless the map is live (inside the caller's transaction).
    static func requireLive(_ connection: SQLiteConnection, _ map: RecordMapName) throws {
        guard try isLive(connection) else { throw StorageError(.notFound, "record map \(map) does not exist") }
    }

    static func isLive(_ connection: SQLiteConnection) throws -> Bool {
        try connection.query("SELECT live FROM state WHERE id = 0").first?.first?.integer == 1
    }

    /// Runs `body` in a read transaction (one snapshot of the map).
    static func reading<R>(_ connection: SQLiteConnection, _ body: () throws -> R) throws -> R {
        try connection.execute("BEGIN")
        defer { try? connection.execute("COMMIT") }
        return try body()
    }

    /// A SQLite failure as the storage layer's error: waiting too long for
    /// another process's lock is `.unavailable`, anything else `.io`.
    static func mapping<R>(_ body: () throws -> R) throws -> R {
        do { return try body() } catch { throw storageError(error) }
    }

    static func storageError(_ error: any Error) -> any Error {
        guard let error = error as? SQLiteError else { return error }
        return StorageError(error.code == .busy ? .unavailable : .io, "record map: \(error.message)")
    }
}

/// A batch waiting for a group commit; `result` is written and read only
/// under the map's connection lock.
private final class PendingBatch: @unchecked Sendable {
    let batch: RecordBatch
    var result: Result<Void, any Error>?
    init(_ batch: RecordBatch) { self.batch = batch }
}
