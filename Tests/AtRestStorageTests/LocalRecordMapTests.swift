import Foundation
import AtRestSQLite
@testable import AtRestStorage
import Testing

/// The `local` backend's record maps beyond the contract: group commits
/// keep each batch all-or-nothing, and reads go on while a commit waits.
@Suite struct LocalRecordMapTests {
    static let map = try! RecordMapName(try! BackendContainer("a-local"), "q-one")
    static func value(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// Many batches at once (committed together in a few transactions):
    /// each one whose condition fails fails alone and changes nothing,
    /// every other one is applied whole.
    @Test func batchesCommittedTogetherStayAllOrNothing() async throws {
        let directory = TempDirectory()
        defer { directory.remove() }
        let backend = try LocalBackend(directory: directory.path)
        try await backend.createRecordMap(Self.map)
        try await backend.apply(RecordBatch(sets: ["taken": Self.value("x")]), to: Self.map)
        let results = await withTaskGroup(of: (Int, Result<Void, any Error>).self) { group in
            for i in 0..<96 {
                group.addTask {
                    // Every fourth batch also needs "taken" absent, which it is not.
                    let conditions: [RecordCondition] = [.absent("k-\(i)")] + (i % 4 == 0 ? [.absent("taken")] : [])
                    let batch = RecordBatch(conditions: conditions, sets: ["k-\(i)": Self.value("v\(i)"), "also-\(i)": Self.value("a\(i)")],
                                            removes: i % 4 == 0 ? ["taken"] : [])
                    return (i, await Result { try await backend.apply(batch, to: Self.map) })
                }
            }
            var out: [Int: Result<Void, any Error>] = [:]
            for await (i, result) in group { out[i] = result }
            return out
        }
        for (i, result) in results {
            switch result {
            case .success: #expect(i % 4 != 0, "batch \(i) should have failed")
            case .failure(let error as StorageError): #expect(i % 4 == 0 && error.code == .conditionFailed, "batch \(i): \(error)")
            case .failure(let error): Issue.record("batch \(i): \(error)")
            }
        }
        let stored = try await backend.records(Self.map, after: nil, limit: 1000).records
        let expected = ["taken"] + (0..<96).filter { $0 % 4 != 0 }.flatMap { ["k-\($0)", "also-\($0)"] }
        #expect(stored.map(\.key).sorted() == expected.sorted())
    }

    /// The layout of a map's file: a new map gets 16 KiB pages and a rowid
    /// table (a 4 KiB chunk record fits in a leaf page); a map made before
    /// session 17 (4 KiB pages, `WITHOUT ROWID`) keeps its layout and works
    /// as before, large records included.
    /// `SQLiteConnection.lookup`, which batch reads use: a row's blob or text, in any order and as often as asked; keys
    /// without a row, or with a null or an integer, skipped; an empty key and an empty value are still values.
    @Test func lookupsGiveBlobsAndTextsOfTheKeysThatHaveThem() throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let db = try SQLiteConnection(path: dir.path + "/lookup.sqlite", create: true)
        try db.execute("CREATE TABLE records (key TEXT PRIMARY KEY, value)")
        let rows: [(String, SQLiteValue)] = [("a", .blob([1, 2])), ("", .blob([])), ("c", .text("hé")), ("d", .integer(5)), ("e", .null),
                                             ("long-" + String(repeating: "k", count: 300), .blob([9]))]
        for (key, value) in rows { try db.query("INSERT INTO records (key, value) VALUES (?1, ?2)", [.text(key), value]) }
        var seen: [(String, [UInt8])] = []
        try db.lookup("SELECT value FROM records WHERE key = ?1", keys: ["a", "b", "", "c", "d", "e", "a", "long-" + String(repeating: "k", count: 300)]) {
            seen.append(($0, Array($1)))
        }
        #expect(seen.map(\.0) == ["a", "", "c", "a", "long-" + String(repeating: "k", count: 300)])
        #expect(seen.map(\.1) == [[1, 2], [], Array("hé".utf8), [1, 2], [9]])
        // The statement is left reset: the next use of it (through `query`) sees the table as it is.
        #expect(try db.query("SELECT value FROM records WHERE key = ?1", [.text("a")]).first?.first?.bytes == [1, 2])
        struct Stop: Error {}
        #expect(throws: Stop.self) { try db.lookup("SELECT value FROM records WHERE key = ?1", keys: ["a", "c"]) { _, _ in throw Stop() } }
        #expect(try db.query("SELECT count(*) FROM records").first?.first?.integer == 6)
        // `texts`: the first column of every row, as text; a blob's bytes as UTF-8, null and numbers as "".
        #expect(try db.texts("SELECT key FROM records WHERE key > ?1 ORDER BY key LIMIT ?2", [.text("a"), .integer(2)]) == ["c", "d"])
        #expect(try db.texts("SELECT value FROM records ORDER BY key") == ["", "\u{1}\u{2}", "hé", "", "", "\u{9}"])
        #expect(try db.texts("SELECT key FROM records WHERE key > 'zz'").isEmpty)
    }

    @Test func newMapsGetTheNewLayoutAndOldMapsKeepTheirs() async throws {
        let directory = TempDirectory()
        defer { directory.remove() }
        let backend = try LocalBackend(directory: directory.path)
        func layout(_ map: RecordMapName) throws -> (pageSize: Int64?, sql: String?) {
            let connection = try SQLiteConnection(path: backend.path(map), create: false)
            return (try connection.query("PRAGMA page_size").first?.first?.integer,
                    try connection.query("SELECT sql FROM sqlite_master WHERE name = 'records'").first?.first?.text)
        }
        try await backend.createRecordMap(Self.map)
        let new = try layout(Self.map)
        #expect(new.pageSize == 16384)
        #expect(new.sql.map { !$0.uppercased().contains("WITHOUT ROWID") } == true, "\(new.sql ?? "no table")")

        let old = try RecordMapName(try BackendContainer("a-local"), "q-old")
        let path = backend.path(old)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        do {
            let maker = try SQLiteConnection(path: path, create: true)
            try maker.execute("""
                PRAGMA journal_mode=WAL;
                CREATE TABLE records(key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
                CREATE TABLE state(id INTEGER PRIMARY KEY CHECK (id = 0), live INTEGER NOT NULL);
                INSERT INTO state(id, live) VALUES (0, 1);
                """)
            _ = try maker.query("INSERT INTO records(key, value) VALUES (?1, ?2)", [.text("before"), .blob(Self.value("kept"))])
        }
        let large = (0..<(128 << 10)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try await backend.apply(RecordBatch(conditions: [.equals("before", Self.value("kept"))], sets: ["large": large]), to: old)
        let stored = try await backend.records(old, after: nil, limit: 10).records
        #expect(stored.map(\.key) == ["before", "large"])
        #expect(stored.last?.value == large)
        let kept = try layout(old)
        #expect(kept.pageSize == 4096)
        #expect(kept.sql?.uppercased().contains("WITHOUT ROWID") == true)
    }

    /// Another process holds the map's write lock (mid-commit) while this
    /// one has a batch waiting for it: reads of the map still answer at
    /// once (they used to queue behind the waiting commit for up to the
    /// 10 s busy timeout), and the batch commits once the lock is free.
    @Test func readsAnswerWhileACommitWaitsForTheLock() async throws {
        let directory = TempDirectory()
        defer { directory.remove() }
        let backend = try LocalBackend(directory: directory.path)
        try await backend.createRecordMap(Self.map)
        try await backend.apply(RecordBatch(sets: ["k1": Self.value("v1")]), to: Self.map)
        let other = try SQLiteConnection(path: backend.path(Self.map), create: false)
        try other.execute("BEGIN IMMEDIATE")
        let write = Task { try await backend.apply(RecordBatch(sets: ["k2": Self.value("v2")]), to: Self.map) }
        // Nothing to wait on: give the batch time to reach SQLite's lock wait first.
        try await Task.sleep(for: .milliseconds(200))
        let clock = ContinuousClock()
        let start = clock.now
        #expect(try await backend.records(Self.map, keys: ["k1", "k2"]) == ["k1": Self.value("v1")])
        #expect(try await backend.records(Self.map, after: nil, limit: 10).records.map(\.key) == ["k1"])
        let elapsed = clock.now - start
        #expect(elapsed < .seconds(3), "reads took \(elapsed) while a commit waited for the lock")
        try other.execute("COMMIT")
        try await write.value
        #expect(try await backend.records(Self.map, keys: ["k2"]) == ["k2": Self.value("v2")])
    }

    /// Four backends on one directory (four workers) making the same new
    /// maps at once, eight writers in all: every map is made once and
    /// every batch lands. The first open of a new map switches it to WAL,
    /// which SQLite refuses at once (no busy handler) while another
    /// connection opens it; the schema is tried again. Without that, two
    /// runs in three failed here ("database is locked"); it depends on
    /// timing, so a pass alone proves less than a failure would.
    @Test func backendsMakingTheSameNewMapsAtOnce() async throws {
        let directory = TempDirectory()
        defer { directory.remove() }
        let backends: [any StorageBackend] = try (0..<4).map { _ in try LocalBackend(directory: directory.path) }
        let container = try BackendContainer("a-local")
        var failures: [String] = []
        for round in 0..<300 {
            let map = try RecordMapName(container, "m-\(round)")
            failures += await withTaskGroup(of: String?.self) { group in
                for task in 0..<8 {
                    group.addTask {
                        do {
                            _ = try await StorageError.succeeds(unless: .alreadyExists) { try await backends[task % 4].createRecordMap(map) }
                            try await backends[task % 4].apply(RecordBatch(sets: ["k\(task)": [1]]), to: map)
                            return nil
                        } catch {
                            return "map \(round): \(error)"
                        }
                    }
                }
                var out: [String] = []
                for await failure in group { if let failure { out.append(failure) } }
                return out
            }
            if round % 50 == 0 { #expect(try await backends[3].recordKeys(map, after: nil, limit: 10).keys.count == 8) }
        }
        #expect(failures.isEmpty, "\(failures.count) failed: \(failures.prefix(3))")
    }

    /// A backend touching far more maps than it may hold open (a share of
    /// many small files, each with its own data map) keeps at most
    /// `openLimit` of them open, so its file descriptors stay bounded, and
    /// every map still reads back what was written to it, including one
    /// reopened after it was closed. Without the bound this process held
    /// three or more descriptors per map ever opened (10,000 small files ran
    /// a worker out of descriptors in `atrest-bench files`).
    @Test func openMapsAndDescriptorsStayBounded() async throws {
        let directory = TempDirectory()
        defer { directory.remove() }
        let backend = try LocalBackend(directory: directory.path)
        let limit = backend.recordMaps.openLimit
        func descriptors() -> Int { ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).count }
        let container = try BackendContainer("a-many")
        let maps = try (0..<(limit * 3)).map { try RecordMapName(container, "fc-\($0)") }
        let before = descriptors()
        for (i, map) in maps.enumerated() {
            try await backend.createRecordMap(map)
            try await backend.apply(RecordBatch(sets: ["k": Self.value("v\(i)")], removes: []), to: map)
        }
        #expect(backend.recordMaps.openCount <= limit, "\(backend.recordMaps.openCount) maps open, limit \(limit)")
        let grown = descriptors() - before
        // Bounded by the open maps (a writer and a reader connection, three descriptors each), not by the 3 × limit maps touched.
        #expect(grown <= limit * 6 + 16, "\(grown) descriptors more after touching \(maps.count) maps")
        for (i, map) in maps.enumerated() {
            #expect(try await backend.records(map, keys: ["k"])["k"] == Self.value("v\(i)"), "map \(i)")
        }
        #expect(backend.recordMaps.openCount <= limit)
    }

    /// A map closed (more maps touched than `openLimit`) and opened again is a new instance: it never gives back a
    /// count its earlier instance gave, so a count a caller kept from before cannot match after writes it missed.
    @Test func aReopenedMapNeverRepeatsAChangeCount() async throws {
        let directory = TempDirectory()
        defer { directory.remove() }
        let backend = try LocalBackend(directory: directory.path), other = try LocalBackend(directory: directory.path)
        let container = try BackendContainer("a-counts")
        let map = try RecordMapName(container, "t-kept")
        try await backend.createRecordMap(map)
        let kept = try #require(try await backend.recordMapChangeCount(map))
        try await other.apply(RecordBatch(sets: ["k": Self.value("v")]), to: map)  // a commit `backend` has not seen
        for i in 0...backend.recordMaps.openLimit {  // closes `map` in `backend`
            let filler = try RecordMapName(container, "t-\(i)")
            try await backend.createRecordMap(filler)
            _ = try await backend.recordMapChangeCount(filler)
        }
        var counts: Set<UInt64> = []
        for _ in 0..<4 { counts.insert(try #require(try await backend.recordMapChangeCount(map))) }
        #expect(!counts.contains(kept), "a reopened map repeated count \(kept)")
    }

    /// While nothing is committed the count stays the same, also after concurrent reads and counts: what lets a
    /// table's pages reuse their listing.
    @Test func theChangeCountHoldsWhileNothingIsCommitted() async throws {
        let directory = TempDirectory()
        defer { directory.remove() }
        let backend = try LocalBackend(directory: directory.path)
        let map = try RecordMapName(try BackendContainer("a-steady"), "t-one")
        try await backend.createRecordMap(map)
        for round in 0..<3 {
            try await backend.apply(RecordBatch(sets: ["k\(round)": Self.value("v")]), to: map)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 { group.addTask { _ = try await backend.records(map, after: nil, limit: 100) } }
                try await group.waitForAll()
            }
            let first = try #require(try await backend.recordMapChangeCount(map))
            let counts = try await withThrowingTaskGroup(of: UInt64?.self) { group in
                for _ in 0..<8 { group.addTask { try await backend.recordMapChangeCount(map) } }
                return try await group.reduce(into: [UInt64?]()) { $0.append($1) }
            }
            #expect(counts.allSatisfy { $0 == first }, "round \(round): \(counts) after \(first)")
        }
    }
}
