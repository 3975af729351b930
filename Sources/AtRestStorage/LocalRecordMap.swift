import AtRestSQLite
import Glibc
import Synchronization

/// One record map of the `local` backend: a SQLite database file in WAL
/// mode with `synchronous=FULL` (every commit fsyncs the log before it
/// returns), opened once per process. Several processes on one host share
/// the file safely: a write is one `BEGIN IMMEDIATE` transaction, so the
/// conditions are checked under the database's write lock, and SQLite's
/// shared-memory index of the log keeps every reader current
/// (docs/FORMAT.md "Record maps").
///
/// A map exists while its `state` row says so: deleting empties the map and
/// clears the flag instead of unlinking the file, so a connection another
/// process keeps open never writes into a file that is gone.
///
/// Group commit: a batch is queued, and the caller that finds no commit
/// running becomes the leader: on a `BlockingIO` thread it applies every
/// queued batch in one transaction (each batch's conditions checked before
/// its changes, a batch whose condition fails changes nothing and fails
/// alone), resumes their callers, and goes on while batches queued during
/// the commit, so one fsync acknowledges many batches. No caller holds a
/// thread or a lock while it waits: callers blocked on a lock held across
/// an fsync spun in `Mutex`'s slow path and cost more CPU than the commits.
/// Reads use connections of their own (`readers`), so they never wait for
/// a commit's fsync: a WAL reader sees the last committed state.
final class LocalRecordMap: Sendable {
    private let writer: Mutex<SQLiteConnection>
    private let group = Mutex(GroupCommit())
    private let readers: LocalRecordMapReaders

    /// The schema of a map, run on every open (idempotent). A new file gets
    /// 16 KiB pages and a rowid table: a disk's 4 KiB chunk records then fit
    /// in a leaf page and a file's 64 KiB ones take a chain of 5 pages, where
    /// the 4 KiB pages and `WITHOUT ROWID` table that maps made before
    /// session 17 (which keep working as they are: `page_size` changes
    /// nothing in a database that exists) put at most ~1 KiB of a record in
    /// its leaf and the rest in 4 KiB overflow pages, each written to the
    /// log and again at checkpoints (docs/FORMAT.md "Record maps").
    static let schema = """
        PRAGMA page_size=16384;
        PRAGMA journal_mode=WAL;
        PRAGMA synchronous=FULL;
        PRAGMA wal_autocheckpoint=256;
        CREATE TABLE IF NOT EXISTS records(key TEXT PRIMARY KEY, value BLOB NOT NULL);
        CREATE TABLE IF NOT EXISTS state(id INTEGER PRIMARY KEY CHECK (id = 0), live INTEGER NOT NULL);
        """

    init(path: String, create: Bool) throws {
        let connection = try Self.mapping { try SQLiteConnection(path: path, create: create) }
        try Self.mapping { try Self.prepare(connection) }
        writer = Mutex(connection)
        readers = LocalRecordMapReaders(path: path)
    }

    /// Runs the schema, again while another connection holds the file:
    /// SQLite answers the journal mode change of a new map opened by two
    /// connections at once (two processes, or backends, making it) with
    /// SQLITE_BUSY at once, without calling the busy handler. Idempotent.
    private static func prepare(_ connection: SQLiteConnection) throws {
        let deadline = ContinuousClock.now + SQLiteConnection.busyTimeout
        while true {
            do {
                return try connection.execute(schema)
            } catch let error as SQLiteError where error.code == .busy && ContinuousClock.now < deadline {
                usleep(500)
            }
        }
    }

    /// Runs `body` on the writing connection (creating and deleting the
    /// map), SQLite errors as `StorageError`; blocks while a commit runs.
    func with<R: Sendable>(_ body: (SQLiteConnection) throws -> R) throws -> R {
        try writer.withLock { connection in try Self.mapping { try body(connection) } }
    }

    /// Runs `body` in a read transaction (one snapshot of the map) on a
    /// reading connection.
    func reading<R>(_ body: (SQLiteConnection) throws -> R) throws -> R {
        try readers.with { connection in try Self.mapping { try Self.reading(connection) { try body(connection) } } }
    }

    /// `LocalRecordMapReaders.changeCount`: the same again means nothing was committed since.
    func changeCount() throws -> UInt64 {
        try Self.mapping { try readers.changeCount() }
    }

    /// Applies `batch` (validated) durably, in a group commit with the
    /// batches of other callers queued at the same time.
    func apply(_ batch: RecordBatch, _ map: RecordMapName) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let leads = group.withLock { group in
                group.queued.append(GroupCommit.Pending(batch: batch, continuation: continuation))
                defer { group.committing = true }
                return !group.committing
            }
            if leads { BlockingIO.start { self.commitQueued(map) } }
        }
    }

    /// The leader: commits what is queued until nothing is.
    private func commitQueued(_ map: RecordMapName) {
        while true {
            let pending = group.withLock { group in
                defer { group.queued = [] }
                if group.queued.isEmpty { group.committing = false }
                return group.queued
            }
            if pending.isEmpty { return }
            let outcomes = StorageObservation.timed(.groupCommit(batches: pending.count)) {
                writer.withLock { connection in Self.commit(pending.map(\.batch), map, connection) }
            }
            for (pending, outcome) in zip(pending, outcomes) { pending.continuation.resume(with: outcome) }
        }
    }

    /// One transaction for `batches`: each one's outcome.
    static func commit(_ batches: [RecordBatch], _ map: RecordMapName, _ connection: SQLiteConnection) -> [Result<Void, any Error>] {
        var outcomes: [Result<Void, any Error>] = []
        do {
            try connection.transaction {
                try requireLive(connection, map)
                for batch in batches {
                    guard try conditionsHold(batch, connection) else {
                        outcomes.append(.failure(StorageError(.conditionFailed, "record map \(map): a condition of the batch does not hold; nothing changed")))
                        continue
                    }
                    for key in batch.removes { try connection.query("DELETE FROM records WHERE key = ?1", [.text(key)]) }
                    for (key, value) in batch.sets {
                        try connection.query("INSERT INTO records(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                                             [.text(key), .blob(value)])
                    }
                    outcomes.append(.success(()))
                }
            }
            return outcomes
        } catch {
            // Nothing of the group was committed.
            let failure = storageError(error)
            return batches.map { _ in .failure(failure) }
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

/// The batches queued for the next commit of a map, and whether a leader
/// is committing (then it takes them along; else the next caller leads).
struct GroupCommit {
    struct Pending {
        let batch: RecordBatch
        let continuation: CheckedContinuation<Void, any Error>
    }

    var queued: [Pending] = []
    var committing = false
}
