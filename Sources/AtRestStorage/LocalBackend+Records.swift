import AtRestSQLite
import Synchronization

/// The record maps a `LocalBackend` has open, by file path: at most
/// `openLimit` of them, the least recently used closed first. Each open map
/// holds a writing connection and idle readers (three descriptors each:
/// database, WAL, shared memory), so without a bound a share of 10,000
/// small files (a data map each) or a walk over many tables would run the
/// process out of file descriptors. Closing only drops this cache's
/// reference: a call still using the map keeps it open until it returns,
/// and a map opened again meanwhile is a second connection to the same
/// file, which SQLite serialises like any other.
final class LocalRecordMaps: Sendable {
    private struct Entry {
        let map: LocalRecordMap
        var lastUse: UInt64
    }
    private struct Open {
        var entries: [String: Entry] = [:]
        var clock: UInt64 = 0
    }
    private let open = Mutex(Open())
    let openLimit: Int
    /// Set for a backend opened `readingOnly`: maps are opened from copies.
    private let snapshots: LocalRecordSnapshots?
    /// The private copy of each map opened from one (`snapshots`).
    private let copies = Mutex<[String: String]>([:])

    init(readingOnly: Bool = false, openLimit: Int = 256) {
        snapshots = readingOnly ? LocalRecordSnapshots() : nil
        self.openLimit = max(1, openLimit)
    }

    deinit {
        open.withLock { $0.entries.removeAll() }  // closes the connections first
        snapshots?.removeAll()
    }

    /// How many maps this cache holds open now (tests).
    var openCount: Int { open.withLock { $0.entries.count } }

    /// The open map at `path`, opening it (and creating the file when
    /// `create`); nil when the file does not exist and `create` is false.
    func map(_ path: String, create: Bool) throws -> LocalRecordMap? {
        if let map = open.withLock({ Self.use(path, &$0) }) { return map }
        guard create || FileSystem.exists(path) else { return nil }
        let copy = try snapshots?.copy(path)
        let map = try LocalRecordMap(path: copy ?? path, create: create)
        var evicted: [LocalRecordMap] = []
        let chosen = open.withLock { state in
            if let existing = Self.use(path, &state) { return existing }
            state.clock += 1
            state.entries[path] = Entry(map: map, lastUse: state.clock)
            if let copy { copies.withLock { $0[path] = copy } }
            if state.entries.count > openLimit { evicted = evict(&state, keeping: path) }
            return map
        }
        evicted.removeAll()  // closed here, outside the lock
        return chosen
    }

    private static func use(_ path: String, _ state: inout Open) -> LocalRecordMap? {
        guard let map = state.entries[path]?.map else { return nil }
        state.clock += 1
        state.entries[path]?.lastUse = state.clock
        return map
    }

    /// Drops the least recently used eighth of the limit (at least one), so
    /// eviction runs once per many opens, not on each; never `keeping`, and
    /// never a map read from a private copy (`release` removes those).
    private func evict(_ state: inout Open, keeping: String) -> [LocalRecordMap] {
        let count = max(1, openLimit / 8)
        let copied = copies.withLock { Set($0.keys) }
        let oldest = state.entries.filter { $0.key != keeping && !copied.contains($0.key) }
            .sorted { $0.value.lastUse < $1.value.lastUse }.prefix(count)
        return oldest.compactMap { state.entries.removeValue(forKey: $0.key)?.map }
    }

    /// The private copy the map at `path` is read from (tests).
    func copy(of path: String) -> String? { copies.withLock { $0[path] } }

    /// Closes the map at `path` and removes its private copy (opened
    /// `readingOnly`), so a walk over many maps keeps one copy at a time in
    /// `$TMPDIR`, not all of them. Does nothing on a backend that writes.
    func release(_ path: String) {
        guard let snapshots, let copy = copies.withLock({ $0.removeValue(forKey: path) }) else { return }
        _ = open.withLock { $0.entries.removeValue(forKey: path) }
        snapshots.remove(copy)
    }
}

/// Record maps of the `local` backend: one SQLite file per map,
/// `<directory>/.records/<container id>/<map>.sqlite` (docs/FORMAT.md
/// "Record maps"). ".records" can never be a container id's first
/// component (those never start with "."), so maps and objects never meet.
extension LocalBackend {
    func path(_ map: RecordMapName) -> String { "\(directory)/.records/\(map.container.id)/\(map.map).sqlite" }

    /// Closes a map opened `readingOnly` and removes its private copy.
    public func doneReading(_ map: RecordMapName) async { recordMaps.release(path(map)) }

    /// The open map, or `.notFound` when its file was never created.
    func existing(_ map: RecordMapName) throws -> LocalRecordMap {
        guard let opened = try recordMaps.map(path(map), create: false) else {
            throw StorageError(.notFound, "record map \(map) does not exist")
        }
        return opened
    }

    public func createRecordMap(_ map: RecordMapName) async throws {
        _ = try writerID()
        try await BlockingIO.run { [self] in
            let file = path(map)
            try FileSystem.makeDirectory(FileSystem.parent(of: file))
            let opened = try recordMaps.map(file, create: true)!
            try opened.with { connection in
                try connection.transaction {
                    guard try !LocalRecordMap.isLive(connection) else {
                        throw StorageError(.alreadyExists, "record map \(map) already exists")
                    }
                    try connection.query("INSERT OR REPLACE INTO state(id, live) VALUES (0, 1)")
                }
            }
            // The new file's name (the log's is synced by SQLite when it is made).
            try FileSystem.syncDirectory(FileSystem.parent(of: file))
        }
    }

    public func deleteRecordMap(_ map: RecordMapName) async throws {
        _ = try writerID()
        try await BlockingIO.run { [self] in
            try existing(map).with { connection in
                try connection.transaction {
                    try LocalRecordMap.requireLive(connection, map)
                    try connection.query("DELETE FROM records")
                    try connection.query("UPDATE state SET live = 0 WHERE id = 0")
                }
            }
        }
    }

    public func records(_ map: RecordMapName, after: String?, limit: Int) async throws -> RecordPage {
        guard (1...1000).contains(limit) else { throw StorageError(.invalidArgument, "a record page holds 1-1000 records, not \(limit)") }
        return try await BlockingIO.run { [self] in
            try existing(map).reading { connection in
                try LocalRecordMap.requireLive(connection, map)
                let rows = try connection.query("SELECT key, value FROM records WHERE key > ?1 ORDER BY key LIMIT ?2",
                                                    [.text(after ?? ""), .integer(Int64(limit + 1))])
                let records = rows.prefix(limit).map { Record(key: $0[0].text ?? "", value: $0[1].bytes ?? []) }
                return RecordPage(records: records, more: rows.count > limit)
            }
        }
    }

    public func recordMapChangeCount(_ map: RecordMapName) async throws -> UInt64? {
        try await BlockingIO.run { [self] in try existing(map).changeCount() }
    }

    /// Keys only (`SELECT key`): the values are never read.
    public func recordKeys(_ map: RecordMapName, after: String?, limit: Int) async throws -> (keys: [String], more: Bool) {
        guard (1...1000).contains(limit) else { throw StorageError(.invalidArgument, "a record page holds 1-1000 records, not \(limit)") }
        return try await BlockingIO.run { [self] in
            try existing(map).reading { connection in
                try LocalRecordMap.requireLive(connection, map)
                var keys = try connection.texts("SELECT key FROM records WHERE key > ?1 ORDER BY key LIMIT ?2",
                                                [.text(after ?? ""), .integer(Int64(limit + 1))])
                let more = keys.count > limit
                if more { keys.removeLast(keys.count - limit) }
                return (keys, more)
            }
        }
    }

    public func records(_ map: RecordMapName, keys: [String]) async throws -> [String: [UInt8]] {
        guard (1...1000).contains(keys.count) else { throw StorageError(.invalidArgument, "ask for 1-1000 records, not \(keys.count)") }
        return try await BlockingIO.run { [self] in
            try existing(map).reading { connection in
                try LocalRecordMap.requireLive(connection, map)
                var found: [String: [UInt8]] = [:]
                found.reserveCapacity(keys.count)
                try connection.lookup("SELECT value FROM records WHERE key = ?1", keys: Set(keys)) { key, value in found[key] = Array(value) }
                return found
            }
        }
    }

    public func apply(_ batch: RecordBatch, to map: RecordMapName) async throws {
        _ = try writerID()
        let batch = try batch.validated()
        try await BlockingIO.run { [self] in try existing(map) }.apply(batch, map)
    }
}
