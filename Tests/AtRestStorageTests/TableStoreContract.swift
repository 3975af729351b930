import AtRestCrypto
@testable import AtRestStorage
import Testing

/// The table engine over the record map interface, written once and run on
/// every backend (two connections, as two workers have).
enum TableStoreContract {
    static let account = "acct"

    static func expectError<T>(_ code: StorageError.Code, _ text: String? = nil, _ body: () async throws -> T,
                               sourceLocation: SourceLocation = #_sourceLocation) async {
        await BackendContract.expectError(code, text, body, sourceLocation: sourceLocation)
    }

    static func row(_ i: Int) -> String { "r" + String(repeating: "0", count: 3 - String(i).count) + String(i) }

    static func entity(_ pk: String, _ rk: String, _ properties: [String: TableValue] = [:]) -> TableEntity {
        TableEntity(partitionKey: pk, rowKey: rk, properties: properties)
    }

    /// Create (names, case), list (prefix, pages), delete, create again; other accounts and keys see nothing.
    static func tables(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        let key = try Fixtures.accountKey()
        let a = TableStore(backend: one), b = TableStore(backend: two)
        #expect(try await a.listTables(account: account, accountKey: key) == TableListing(tables: [], continuation: nil))
        for name in ["Orders", "ordersEU", "billing", "z99"] { try await (name.count % 2 == 0 ? a : b).createTable(account: account, name: name, accountKey: key) }
        await expectError(.alreadyExists, "already exists") { try await b.createTable(account: account, name: "orders", accountKey: key) }
        for bad in ["ab", "1orders", "or-ders", "or_ders", String(repeating: "a", count: 64), "ordérs", "tables", "Tables"] {
            await expectError(.invalidArgument, "table name") { try await a.createTable(account: account, name: bad, accountKey: key) }
        }
        #expect(try await b.listTables(account: account, accountKey: key).tables.map(\.name) == ["Orders", "billing", "ordersEU", "z99"])
        let first = try await a.listTables(account: account, limit: 3, accountKey: key)
        #expect(first.tables.map(\.name) == ["Orders", "billing", "ordersEU"] && first.continuation == "ordersEU")
        #expect(try await a.listTables(account: account, continuation: first.continuation, limit: 3, accountKey: key).tables.map(\.name) == ["z99"])
        #expect(try await a.listTables(account: account, prefix: "order", accountKey: key).tables.map(\.name) == ["ordersEU"])
        #expect(try await a.listTables(account: "other", accountKey: key).tables == [])
        await expectError(.invalidArgument, "1-1000") { try await a.listTables(account: account, limit: 0, accountKey: key) }

        _ = try await a.insert(account: account, table: "orders", entity: entity("p", "r"), accountKey: key)
        try await b.deleteTable(account: account, name: "ORDERS", accountKey: key)
        await expectError(.notFound, "does not exist") { try await a.deleteTable(account: account, name: "Orders", accountKey: key) }
        await expectError(.notFound, "table 'Orders' does not exist") { try await a.get(account: account, table: "Orders", partitionKey: "p", rowKey: "r", accountKey: key) }
        await expectError(.notFound) { try await a.query(account: account, table: "Orders", accountKey: key) }
        try await a.createTable(account: account, name: "orders", accountKey: key)
        #expect(try await b.query(account: account, table: "Orders", accountKey: key).entities == [])
        let otherKey = try Fixtures.accountKey(KeyReference(provider: "managed", keyID: "kek-1", keyVersion: 2, accountKeyVersion: 1))
        #expect(try await a.listTables(account: account, accountKey: otherKey).tables == [])
    }

    /// Every single-entity verb, its ETag and Timestamp, and its errors.
    static func entities(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        let key = try Fixtures.accountKey()
        let clock = TestClock()
        let a = TableStore(backend: one, clock: clock.read), b = TableStore(backend: two, clock: clock.read)
        try await a.createTable(account: account, name: "people", accountKey: key)
        let all: [String: TableValue] = [
            "Name": .string("Ada"), "Age": .int32(36), "Big": .int64(-5_000_000_000), "Score": .double(2.5), "Active": .bool(true),
            "Born": .datetime(-4_000_000_000_000_000), "Id": .guid(Array(0..<16)), "Photo": .binary([0, 1, 2, 255]), "Empty": .string(""),
        ]
        let inserted = try await a.insert(account: account, table: "people", entity: entity("uk", "ada", all), accountKey: key)
        #expect(inserted.etag.count == 32 && inserted.timestamp == clock.read() * 1000 && inserted.properties == all)
        #expect(try await b.get(account: account, table: "people", partitionKey: "uk", rowKey: "ada", accountKey: key) == inserted)
        #expect(try await b.get(account: account, table: "people", partitionKey: "uk", rowKey: "ada", select: ["Age", "Nope"], accountKey: key).properties == ["Age": .int32(36)])
        await expectError(.alreadyExists, "entity (PartitionKey 'uk', RowKey 'ada') already exists") {
            try await b.insert(account: account, table: "people", entity: entity("uk", "ada"), accountKey: key)
        }
        await expectError(.notFound, "does not exist in table 'people'") { try await a.get(account: account, table: "people", partitionKey: "uk", rowKey: "bob", accountKey: key) }
        await expectError(.notFound) { try await a.replace(account: account, table: "people", entity: entity("uk", "bob"), ifMatch: "*", accountKey: key) }
        await expectError(.notFound) { try await a.merge(account: account, table: "people", entity: entity("uk", "bob"), ifMatch: "*", accountKey: key) }
        await expectError(.notFound) { try await a.deleteEntity(account: account, table: "people", partitionKey: "uk", rowKey: "bob", ifMatch: "*", accountKey: key) }

        clock.advance(seconds: 1)
        let merged = try await b.merge(account: account, table: "people", entity: entity("uk", "ada", ["Age": .int64(37), "City": .string("London")]),
                                       ifMatch: inserted.etag, accountKey: key)
        #expect(merged.etag != inserted.etag && merged.timestamp == inserted.timestamp + 1_000_000)
        #expect(merged.properties["Age"] == .int64(37) && merged.properties["City"] == .string("London") && merged.properties["Name"] == .string("Ada"))
        // A stale ETag names the current one; nothing changes.
        await expectError(.conditionFailed, "has ETag \(merged.etag) now, not \(inserted.etag)") {
            try await a.replace(account: account, table: "people", entity: entity("uk", "ada"), ifMatch: inserted.etag, accountKey: key)
        }
        await expectError(.conditionFailed, "has ETag") {
            try await a.deleteEntity(account: account, table: "people", partitionKey: "uk", rowKey: "ada", ifMatch: inserted.etag, accountKey: key)
        }
        await expectError(.invalidArgument, "needs If-Match") { try await a.replace(account: account, table: "people", entity: entity("uk", "ada"), ifMatch: "", accountKey: key) }
        await expectError(.invalidArgument, "neither an ETag") { try await a.merge(account: account, table: "people", entity: entity("uk", "ada"), ifMatch: "abc", accountKey: key) }
        let replaced = try await a.replace(account: account, table: "people", entity: entity("uk", "ada", ["Only": .bool(false)]), ifMatch: "*", accountKey: key)
        #expect(try await b.get(account: account, table: "people", partitionKey: "uk", rowKey: "ada", accountKey: key).properties == ["Only": .bool(false)])
        let upserted = try await b.insertOrMerge(account: account, table: "people", entity: entity("uk", "ada", ["More": .int32(1)]), accountKey: key)
        #expect(upserted.properties == ["Only": .bool(false), "More": .int32(1)] && upserted.etag != replaced.etag)
        #expect(try await a.insertOrReplace(account: account, table: "people", entity: entity("uk", "ada", ["X": .int32(2)]), accountKey: key).properties == ["X": .int32(2)])
        #expect(try await a.insertOrMerge(account: account, table: "people", entity: entity("fr", "zoé", ["Y": .int32(3)]), accountKey: key).properties == ["Y": .int32(3)])
        #expect(try await a.insertOrReplace(account: account, table: "people", entity: entity("", ""), accountKey: key).partitionKey == "")
        let current = try await a.get(account: account, table: "people", partitionKey: "uk", rowKey: "ada", accountKey: key)
        try await b.deleteEntity(account: account, table: "people", partitionKey: "uk", rowKey: "ada", ifMatch: current.etag, accountKey: key)
        await expectError(.notFound) { try await a.get(account: account, table: "people", partitionKey: "uk", rowKey: "ada", accountKey: key) }

        // Keys, property names, counts and sizes.
        for (pk, rk, text) in [("a/b", "r", "PartitionKey 'a/b' contains U+2F"), ("p", "a#b", "RowKey"), ("p", "a?", "RowKey"), ("p", "a\\", "RowKey"),
                               ("p\u{7}", "r", "control"), ("p", String(repeating: "r", count: 1025), "1025 bytes")] {
            await expectError(.invalidArgument, text) { try await a.insert(account: account, table: "people", entity: entity(pk, rk), accountKey: key) }
        }
        for name in ["PartitionKey", "Timestamp", "ETag", "1abc", "a-b", "", String(repeating: "n", count: 256)] {
            await expectError(.invalidArgument, "property name") { try await a.insert(account: account, table: "people", entity: entity("p", "r", [name: .int32(1)]), accountKey: key) }
        }
        let many = Dictionary(uniqueKeysWithValues: (0...252).map { ("P\($0)", TableValue.int32(Int32($0))) })
        await expectError(.invalidArgument, "at most 252 properties") { try await a.insert(account: account, table: "people", entity: entity("p", "r", many), accountKey: key) }
        await expectError(.invalidArgument, "guid property 'G' is 3 bytes") {
            try await a.insert(account: account, table: "people", entity: entity("p", "r", ["G": .guid([1, 2, 3])]), accountKey: key)
        }
        await expectError(.invalidArgument, "at most 1048576 (1 MiB)") {
            try await a.insert(account: account, table: "people", entity: entity("p", "r", ["B": .binary([UInt8](repeating: 1, count: 1 << 20))]), accountKey: key)
        }
        // Just under 1 MiB: nine records, read back whole, replaced by a small entity that leaves no pieces behind.
        var large = entity("big", "one", Dictionary(uniqueKeysWithValues: (0..<252).map { ("P\($0)", TableValue.bool(true)) }))
        large.properties["P0"] = .binary([])
        large.properties["P0"] = .binary([UInt8](repeating: 7, count: TableLimits.maxEntityBytes - EntityRecord.encodedSize(large)))
        #expect(EntityRecord.encodedSize(large) == TableLimits.maxEntityBytes)
        let stored = try await a.insert(account: account, table: "people", entity: large, accountKey: key)
        #expect(try await b.get(account: account, table: "people", partitionKey: "big", rowKey: "one", accountKey: key) == stored)
        let table = try await a.table(account, "people", key)
        #expect(try await one.records(table.map, after: nil, limit: 1000).records.count == 9 + 2)
        _ = try await b.replace(account: account, table: "people", entity: entity("big", "one", ["S": .int32(1)]), ifMatch: stored.etag, accountKey: key)
        #expect(try await one.records(table.map, after: nil, limit: 1000).records.count == 1 + 2)
        #expect(try await a.query(account: account, table: "people", accountKey: key).entities.map(\.rowKey) == ["", "one", "zoé"])
    }

    /// Batches: one partition, all or none, each operation's result; the failing operation named.
    static func batches(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        let key = try Fixtures.accountKey()
        let a = TableStore(backend: one), b = TableStore(backend: two)
        try await a.createTable(account: account, name: "ledger", accountKey: key)
        let existing = try await a.insert(account: account, table: "ledger", entity: entity("acct7", "balance", ["Cents": .int64(100)]), accountKey: key)
        _ = try await a.insert(account: account, table: "ledger", entity: entity("acct7", "old"), accountKey: key)
        let operations = (0..<97).map { TableOperation(.insert, entity("acct7", "tx\($0)", ["Cents": .int64(Int64($0))])) } + [
            TableOperation(.merge, entity("acct7", "balance", ["Cents": .int64(4756)]), ifMatch: existing.etag),
            TableOperation(.delete, entity("acct7", "old"), ifMatch: "*"),
            TableOperation(.insertOrReplace, entity("acct7", "summary", ["N": .int32(97)])),
        ]
        let results = try await b.batch(account: account, table: "ledger", operations: operations, accountKey: key)
        #expect(results.count == 100 && results[98] == nil && results[97]?.properties["Cents"] == .int64(4756))
        #expect(try await a.query(account: account, table: "ledger", filter: "PartitionKey eq 'acct7'", accountKey: key).entities.count == 99)

        // One failing operation (a stale ETag, an insert of what exists) fails the batch and changes nothing.
        let before = try await a.query(account: account, table: "ledger", accountKey: key)
        await expectError(.conditionFailed, "operation 1 (replace): entity (PartitionKey 'acct7', RowKey 'balance') has ETag") {
            try await a.batch(account: account, table: "ledger", operations: [
                TableOperation(.insert, entity("acct7", "new1")),
                TableOperation(.replace, entity("acct7", "balance"), ifMatch: existing.etag),
            ], accountKey: key)
        }
        await expectError(.alreadyExists, "operation 2 (insert)") {
            try await b.batch(account: account, table: "ledger", operations: [
                TableOperation(.delete, entity("acct7", "tx1"), ifMatch: "*"), TableOperation(.insertOrMerge, entity("acct7", "new2")),
                TableOperation(.insert, entity("acct7", "tx2")),
            ], accountKey: key)
        }
        #expect(try await b.query(account: account, table: "ledger", accountKey: key) == before)
        await expectError(.invalidArgument, "one partition") {
            try await a.batch(account: account, table: "ledger", operations: [TableOperation(.insert, entity("p1", "r")), TableOperation(.insert, entity("p2", "r"))], accountKey: key)
        }
        await expectError(.invalidArgument, "each RowKey at most once") {
            try await a.batch(account: account, table: "ledger", operations: [TableOperation(.insert, entity("p", "r")), TableOperation(.delete, entity("p", "r"), ifMatch: "*")], accountKey: key)
        }
        await expectError(.invalidArgument, "1-100 operations") {
            try await a.batch(account: account, table: "ledger", operations: (0..<101).map { TableOperation(.insert, entity("p", "r\($0)")) }, accountKey: key)
        }
        await expectError(.invalidArgument, "1-100 operations") { try await a.batch(account: account, table: "ledger", operations: [], accountKey: key) }
        await expectError(.invalidArgument, "takes no If-Match") {
            try await a.batch(account: account, table: "ledger", operations: [TableOperation(.insert, entity("p", "r"), ifMatch: "*")], accountKey: key)
        }
        // Big entities need a record per 128 KiB: a batch over 256 record changes is refused whole.
        let large = entity("big", "", ["B": .binary([UInt8](repeating: 1, count: 900_000))])
        await expectError(.invalidArgument, "at most 256 change in one atomic step") {
            try await a.batch(account: account, table: "ledger", operations: (0..<40).map { var e = large; e.rowKey = "r\($0)"; return TableOperation(.insert, e) }, accountKey: key)
        }
        #expect(try await b.query(account: account, table: "ledger", filter: "PartitionKey eq 'big'", accountKey: key).entities == [])
    }

    /// Filters, select, top, (PartitionKey, RowKey) order, continuation over
    /// pages, tokens that do not move, and a fixed partition read alone.
    static func queries(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        let key = try Fixtures.accountKey()
        let a = TableStore(backend: one), b = TableStore(backend: two)
        try await a.createTable(account: account, name: "events", accountKey: key)
        try await a.createTable(account: account, name: "other", accountKey: key)
        for p in 0..<5 {
            let operations = (0..<50).map { r in
                TableOperation(.insert, entity("p\(p)", row((r * 37) % 50), ["N": .int32(Int32(r)), "Even": .bool(r % 2 == 0)]))
            }
            _ = try await (p % 2 == 0 ? a : b).batch(account: account, table: "events", operations: operations, accountKey: key)
        }
        // The whole table, 7 pages of 40, in order.
        var seen: [TableEntity] = [], token: String?, pages = 0
        repeat {
            let page = try await (pages % 2 == 0 ? a : b).query(account: account, table: "events", select: ["N"], top: 40, continuation: token, accountKey: key)
            seen += page.entities
            token = page.continuation
            pages += 1
            #expect(page.entities.count == (token == nil ? 10 : 40))
        } while token != nil
        #expect(pages == 7 && seen.count == 250)
        #expect(seen.map { "\($0.partitionKey)/\($0.rowKey)" } == (0..<5).flatMap { p in (0..<50).map { "p\(p)/\(row($0))" } })
        #expect(seen.allSatisfy { $0.properties.keys.sorted() == ["N"] })

        // A filter over one partition, three pages of it.
        let filter = "PartitionKey eq 'p3' and RowKey ge 'r010' and RowKey lt 'r040' and not (Even eq true)"
        var rows: [String] = []
        token = nil
        pages = 0
        repeat {
            let page = try await a.query(account: account, table: "events", filter: filter, top: 5, continuation: token, accountKey: key)
            rows += page.entities.map(\.rowKey)
            #expect(page.entities.allSatisfy { $0.partitionKey == "p3" && $0.properties["Even"] == .bool(false) })
            token = page.continuation
            pages += 1
        } while token != nil
        let expected = (10..<40).map { row($0) }.filter { row in
            let r = (0..<50).first { ($0 * 37) % 50 == Int(row.dropFirst())! }!
            return r % 2 == 1
        }
        #expect(rows == expected && pages >= 3, "\(rows) in \(pages) pages")
        #expect(try await a.query(account: account, table: "events", filter: "N eq 3 and PartitionKey ge 'p3'", accountKey: key).entities.map(\.partitionKey) == ["p3", "p4"])
        #expect(try await a.query(account: account, table: "events", filter: "Nope eq 1", accountKey: key) == EntityPage(entities: [], continuation: nil))

        // Tokens: opaque, bound to the table and the account; a bad filter or top is refused with where and what.
        let first = try await a.query(account: account, table: "events", top: 1, accountKey: key)
        let moved = try #require(first.continuation)
        await expectError(.invalidArgument, "continuation token") { try await a.query(account: account, table: "other", continuation: moved, accountKey: key) }
        await expectError(.invalidArgument, "continuation token") { try await a.query(account: account, table: "events", continuation: "x" + moved, accountKey: key) }
        await expectError(.invalidArgument, "continuation token") { try await a.query(account: account, table: "events", continuation: String(moved.dropLast(2)), accountKey: key) }
        try await a.createTable(account: "acct2", name: "events", accountKey: key)
        await expectError(.invalidArgument, "continuation token") { try await a.query(account: "acct2", table: "events", continuation: moved, accountKey: key) }
        await expectError(.invalidArgument, "filter: at position 16: expected a literal or a property name after 'gt'") {
            try await a.query(account: account, table: "events", filter: "N gt 1 and N gt", accountKey: key).entities.count
        }
        await expectError(.invalidArgument, "top is 1-1000") { try await a.query(account: account, table: "events", top: 1001, accountKey: key) }

        // A fixed partition is one key range: spoil another partition's record and only the whole-table queries notice.
        let table = try await a.table(account, "events", key)
        let spoiled = try a.entityKey(table, "p1", "r007", key)
        let value = try #require(try await one.records(table.map, keys: [spoiled])[spoiled])
        try await one.apply(RecordBatch(conditions: [.equals(spoiled, value)], sets: [spoiled: value.dropLast() + [value.last! ^ 1]]), to: table.map)
        #expect(try await b.query(account: account, table: "events", filter: "PartitionKey eq 'p2'", accountKey: key).entities.count == 50)
        await expectError(.integrityFailure) { try await b.query(account: account, table: "events", filter: "N ge 0", accountKey: key) }
    }

    /// A partition read through its RowKey index: built by the first query that needs it, right while
    /// entities come and go unindexed, after the index is replayed from an older state, and beside
    /// whole-table queries; a changed index chunk fails closed.
    /// A batch that creates many rows writes a sealed delta of their RowKeys; the partition's next query places
    /// those rows by it (opening no entity it does not return), folds it into the index and removes it.
    static func indexDeltas(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        let key = try Fixtures.accountKey()
        let a = TableStore(backend: one), b = TableStore(backend: two)
        try await a.createTable(account: account, name: "deltas", accountKey: key)
        let table = try await a.table(account, "deltas", key)
        let prefix = try a.partitionPrefix(table, "p", key), deltaPrefix = a.deltaPrefix(prefix), chunk = a.indexPrefix(prefix) + "00"
        func deltas() async throws -> [(key: String, value: [UInt8])] {
            try await one.records(table.map, after: deltaPrefix, limit: 1000).records.filter { $0.key.hasPrefix(deltaPrefix) }
                .map { ($0.key, $0.value) }
        }
        func page(_ store: TableStore, _ filter: String = "PartitionKey eq 'p'", top: Int = 10) async throws -> [String] {
            try await store.query(account: account, table: "deltas", filter: filter, top: top, accountKey: key).entities.map(\.rowKey)
        }
        func batch(_ store: TableStore, _ kind: TableOperation.Kind, _ rowKeys: [String]) async throws {
            _ = try await store.batch(account: account, table: "deltas", operations: rowKeys.map { TableOperation(kind, entity("p", $0)) },
                                      accountKey: key)
        }
        var expected = (0..<300).map(row)
        for start in stride(from: 0, to: 300, by: 100) { try await batch(start == 100 ? b : a, .insert, Array(expected[start..<(start + 100)])) }
        #expect(try await deltas().count == 3)
        // Fewer new rows than `deltaMinimumRows`, single writes, and rewrites of rows that exist: no delta.
        try await batch(b, .insert, (300..<315).map(row))
        _ = try await a.insert(account: account, table: "deltas", entity: entity("p", "single"), accountKey: key)
        try await batch(b, .insertOrReplace, Array(expected.prefix(40)))
        #expect(try await deltas().count == 3)
        try await batch(b, .insertOrMerge, (315..<340).map(row))
        let written = try await deltas()
        #expect(written.count == 4)
        expected += (300..<340).map(row) + ["single"]
        // Deleted since: its delta row is passed over.
        try await b.deleteEntity(account: account, table: "deltas", partitionKey: "p", rowKey: row(3), ifMatch: "*", accountKey: key)
        expected.removeAll { $0 == row(3) }
        expected.sort()

        // A changed delta, or one moved to another delta's key, fails the query closed.
        var changed = written[0].value
        changed[changed.count / 2] ^= 0x01
        try await one.apply(RecordBatch(conditions: [.equals(written[0].key, written[0].value)], sets: [written[0].key: changed]), to: table.map)
        await expectError(.integrityFailure) { try await page(a) }
        try await one.apply(RecordBatch(sets: [written[0].key: written[1].value]), to: table.map)
        await expectError(.integrityFailure) { try await page(b) }
        try await one.apply(RecordBatch(sets: [written[0].key: written[0].value]), to: table.map)

        // Rows placed by the deltas are not opened unless returned: a damaged entity past the rows the first page
        // fetches (256) does not fail it (placing it by its own bytes would), and fails the page that returns it.
        let damaged = prefix + (try a.rowHash(table, "p", row(280), key))
        let original = try #require(try await one.records(table.map, keys: [damaged])[damaged])
        var flipped = original
        flipped[flipped.count - 1] ^= 0x01
        try await one.apply(RecordBatch(conditions: [.equals(damaged, original)], sets: [damaged: flipped]), to: table.map)
        #expect(try await page(a) == Array(expected.prefix(10)))
        // That query wrote the index with the deltas' rows, and removed the deltas.
        #expect(try await deltas().isEmpty)
        #expect(try await one.records(table.map, keys: [chunk])[chunk] != nil)
        await expectError(.integrityFailure) { try await page(b, "PartitionKey eq 'p' and RowKey ge 'r275'") }
        try await one.apply(RecordBatch(sets: [damaged: original]), to: table.map)

        // Every row, in order, across pages and engines.
        var all: [String] = [], token: String?
        repeat {
            let next = try await (all.count % 2 == 0 ? b : a).query(account: account, table: "deltas", filter: "PartitionKey eq 'p'", top: 17,
                                                                  continuation: token, accountKey: key)
            all += next.entities.map(\.rowKey)
            token = next.continuation
        } while token != nil
        #expect(all == expected)
    }

    /// Pages after the first reuse the partition's listing while nothing was committed to the table's map; a write
    /// by another engine between two pages is in the next one (and a removed row is not).
    static func listingCache(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        let key = try Fixtures.accountKey()
        let a = TableStore(backend: one), b = TableStore(backend: two)
        try await a.createTable(account: account, name: "listed", accountKey: key)
        let table = try await a.table(account, "listed", key)
        let cacheKey = PartitionIndexCache.Key(map: table.map, prefix: try a.partitionPrefix(table, "p", key), keyCheck: key.checkValue)
        var expected = (0..<200).map { row($0 * 2) }  // even rows: an odd one sorts between them
        for start in stride(from: 0, to: 200, by: 100) {
            _ = try await b.batch(account: account, table: "listed", operations: expected[start..<(start + 100)].map { TableOperation(.insert, entity("p", $0)) },
                                  accountKey: key)
        }
        func page(_ token: String?) async throws -> (rows: [String], token: String?) {
            let page = try await a.query(account: account, table: "listed", filter: "PartitionKey eq 'p'", top: 30, continuation: token, accountKey: key)
            return (page.entities.map(\.rowKey), page.continuation)
        }
        var (rows, token) = try await page(nil)  // writes the index: the next page lists again
        let second = try await page(token)  // lists again (the first wrote the index), and keeps the listing
        (rows, token) = (rows + second.rows, second.token)
        let counted = try await one.recordMapChangeCount(table.map)
        #expect((a.listings.entry(cacheKey, at: counted) != nil) == (counted != nil))
        let cached = a.listings.entry(cacheKey, at: counted)?.live.count
        #expect(counted == nil || cached == 200)

        // Another engine inserts a row past this point and removes one: the count moves on, the next page lists again.
        _ = try await b.insert(account: account, table: "listed", entity: entity("p", row(151)), accountKey: key)
        try await b.deleteEntity(account: account, table: "listed", partitionKey: "p", rowKey: row(152), ifMatch: "*", accountKey: key)
        expected.append(row(151))
        expected.removeAll { $0 == row(152) }
        expected.sort()
        while let next = token {
            let more = try await page(next)
            (rows, token) = (rows + more.rows, more.token)
        }
        #expect(rows == expected)
        let relisted = a.listings.entry(cacheKey, at: try await one.recordMapChangeCount(table.map))?.live.count
        #expect(counted == nil || relisted == 200)
    }

    /// A table looked up is used for a while without its directory record (`RecentLookups`); deleted, or deleted
    /// and made again by another engine, the next call finds that out and works on what is there now.
    static func tableCache(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        let key = try Fixtures.accountKey()
        let a = TableStore(backend: one, tableLifetime: .seconds(600)), b = TableStore(backend: two)
        try await a.createTable(account: account, name: "cached", accountKey: key)
        _ = try await a.insert(account: account, table: "cached", entity: entity("p", "old"), accountKey: key)
        let first = try await a.table(account, "cached", key)

        // Made again under the same name: a's cached table names a map that is gone.
        try await b.deleteTable(account: account, name: "cached", accountKey: key)
        try await b.createTable(account: account, name: "Cached", accountKey: key)
        _ = try await b.insert(account: account, table: "cached", entity: entity("p", "new"), accountKey: key)
        #expect(try await a.get(account: account, table: "CACHED", partitionKey: "p", rowKey: "new", accountKey: key).rowKey == "new")
        await expectError(.notFound, "entity (PartitionKey 'p', RowKey 'old') does not exist") {
            try await a.get(account: account, table: "cached", partitionKey: "p", rowKey: "old", accountKey: key)
        }
        _ = try await a.insert(account: account, table: "cached", entity: entity("p", "x"), accountKey: key)
        #expect(try await b.query(account: account, table: "cached", accountKey: key).entities.map(\.rowKey) == ["new", "x"])
        let second = try await a.table(account, "cached", key)
        #expect(second.record.id != first.record.id)

        // The cache is used: with the name removed behind its back (as a delete that stopped before removing the map
        // leaves it), a still finds the table within its lifetime, and a store of a short lifetime stops finding it.
        let directory = try a.directory(account, key), recordKey = try a.directoryKey(account, "cached", key)
        let record = try #require(try await one.records(directory, keys: [recordKey])[recordKey])
        try await one.apply(RecordBatch(conditions: [.equals(recordKey, record)], removes: [recordKey]), to: directory)
        #expect(try await a.query(account: account, table: "cached", accountKey: key).entities.map(\.rowKey) == ["new", "x"])
        let brief = TableStore(backend: one, tableLifetime: .milliseconds(50))
        try await one.apply(RecordBatch(conditions: [.absent(recordKey)], sets: [recordKey: record]), to: directory)
        _ = try await brief.get(account: account, table: "cached", partitionKey: "p", rowKey: "x", accountKey: key)  // cached now
        try await one.apply(RecordBatch(conditions: [.equals(recordKey, record)], removes: [recordKey]), to: directory)
        try await Task.sleep(for: .milliseconds(100))
        await expectError(.notFound, "table 'cached' does not exist") {
            try await brief.get(account: account, table: "cached", partitionKey: "p", rowKey: "x", accountKey: key)
        }

        // Deleted by another engine: a's next calls say the table does not exist, and nothing they do creates it again.
        try await one.apply(RecordBatch(conditions: [.absent(recordKey)], sets: [recordKey: record]), to: directory)
        try await b.deleteTable(account: account, name: "cached", accountKey: key)
        await expectError(.notFound, "table 'cached' does not exist") {
            try await a.insert(account: account, table: "cached", entity: entity("p", "y"), accountKey: key)
        }
        await expectError(.notFound, "table 'cached' does not exist") { try await a.query(account: account, table: "cached", accountKey: key) }
        #expect(try await b.listTables(account: account, accountKey: key).tables.isEmpty)
    }

    static func partitionIndex(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        let key = try Fixtures.accountKey()
        let a = TableStore(backend: one), b = TableStore(backend: two)
        try await a.createTable(account: account, name: "indexed", accountKey: key)
        func rows(_ store: TableStore, top: Int, filter: String = "PartitionKey eq 'p'") async throws -> (rows: [String], pages: Int) {
            var out: [String] = [], token: String?, pages = 0
            repeat {
                let page = try await store.query(account: account, table: "indexed", filter: filter, top: top, continuation: token, accountKey: key)
                out += page.entities.map(\.rowKey)
                #expect(page.entities.allSatisfy { $0.partitionKey == "p" })
                token = page.continuation
                pages += 1
            } while token != nil
            return (out, pages)
        }
        var expected = Set<String>()
        for batch in 0..<3 {
            let operations = (0..<100).map { i in TableOperation(.insert, entity("p", row((batch * 100 + i) * 7 % 300), ["N": .int32(Int32(i))])) }
            _ = try await (batch % 2 == 0 ? a : b).batch(account: account, table: "indexed", operations: operations, accountKey: key)
            expected.formUnion(operations.map(\.entity.rowKey))
        }
        _ = try await a.insert(account: account, table: "indexed", entity: entity("q", "r001"), accountKey: key)
        // An entity of three pieces in the indexed partition: a page that returns it reads its pieces too.
        let big = entity("p", "r150big", ["Blob": .binary((0..<300_000).map { UInt8(truncatingIfNeeded: $0 * 7) })])
        _ = try await b.insert(account: account, table: "indexed", entity: big, accountKey: key)
        expected.insert(big.rowKey)
        let table = try await a.table(account, "indexed", key)
        let chunk = a.indexPrefix(try a.partitionPrefix(table, "p", key)) + "00"
        #expect(try await one.records(table.map, keys: [chunk]).isEmpty)

        // The first query writes the index; pages in order, each entity once, from either engine.
        var read = try await rows(a, top: 70)
        #expect(read.rows == expected.sorted() && read.pages == 5)  // 301 rows
        let built = try #require(try await two.records(table.map, keys: [chunk])[chunk])
        #expect(try await rows(b, top: 1000).rows == expected.sorted())
        // Each engine keeps the index it wrote or read, for as long as chunk 00 holds those bytes.
        let cached = PartitionIndexCache.Key(map: table.map, prefix: try a.partitionPrefix(table, "p", key), keyCheck: key.checkValue)
        #expect(a.indexes[cached]?.first == built && b.indexes[cached]?.first == built && a.indexes[cached]?.rows.count == 301)
        let bigPage = try await a.query(account: account, table: "indexed", filter: "PartitionKey eq 'p' and RowKey ge 'r150'", top: 3,
                                        accountKey: key).entities
        #expect(bigPage.map(\.rowKey) == ["r150", "r150big", "r151"] && bigPage[1].properties == big.properties)

        // Deletes and inserts the index does not know yet (too few to rewrite it), and a filter on top.
        for i in stride(from: 0, to: 300, by: 20) {
            try await b.deleteEntity(account: account, table: "indexed", partitionKey: "p", rowKey: row(i), ifMatch: "*", accountKey: key)
            expected.remove(row(i))
        }
        for extra in ["a", "r150x", "zz"] {
            _ = try await a.insert(account: account, table: "indexed", entity: entity("p", extra, ["N": .int32(-1)]), accountKey: key)
            expected.insert(extra)
        }
        #expect(try await one.records(table.map, keys: [chunk])[chunk] == built)
        read = try await rows(b, top: 45)
        #expect(read.rows == expected.sorted() && read.pages == 7)
        #expect(try await one.records(table.map, keys: [chunk])[chunk] == built)
        #expect(try await rows(a, top: 4, filter: "PartitionKey eq 'p' and N eq -1").rows == ["a", "r150x", "zz"])
        #expect(try await rows(a, top: 9, filter: "PartitionKey eq 'p' and RowKey ge 'r150' and RowKey lt 'r152'").rows
                == expected.filter { $0 >= "r150" && $0 < "r152" }.sorted())

        // Enough changes rewrite it; an index replayed from before them still gives the right pages.
        for i in stride(from: 1, to: 300, by: 5) where expected.contains(row(i)) {
            try await a.deleteEntity(account: account, table: "indexed", partitionKey: "p", rowKey: row(i), ifMatch: "*", accountKey: key)
            expected.remove(row(i))
        }
        #expect(try await rows(a, top: 1000).rows == expected.sorted())
        let rewritten = try #require(try await one.records(table.map, keys: [chunk])[chunk])
        #expect(rewritten != built && a.indexes[cached]?.first == rewritten && a.indexes[cached]?.rows.count == expected.count)
        try await one.apply(RecordBatch(conditions: [.equals(chunk, rewritten)], sets: [chunk: built]), to: table.map)
        #expect(try await rows(b, top: 33).rows == expected.sorted())
        // Without its chunk 00 a partition has no index: a cached one is dropped, and the next query writes it anew.
        let replaced = try #require(try await one.records(table.map, keys: [chunk])[chunk])
        try await one.apply(RecordBatch(conditions: [.equals(chunk, replaced)], removes: [chunk]), to: table.map)
        #expect(try await rows(a, top: 50).rows == expected.sorted())
        #expect(try await one.records(table.map, keys: [chunk])[chunk] == a.indexes[cached]?.first)

        // The whole table skips the index records; a changed chunk fails closed.
        let all = try await b.query(account: account, table: "indexed", top: 1000, accountKey: key).entities
        #expect(all.map(\.rowKey) == expected.sorted() + ["r001"] && all.last?.partitionKey == "q")
        let current = try #require(try await one.records(table.map, keys: [chunk])[chunk])
        try await one.apply(RecordBatch(conditions: [.equals(chunk, current)], sets: [chunk: current.dropLast() + [current.last! ^ 1]]), to: table.map)
        await expectError(.integrityFailure) { try await rows(a, top: 10) }
        #expect(try await a.query(account: account, table: "indexed", filter: "PartitionKey eq 'q'", accountKey: key).entities.count == 1)
    }

    /// A partition's unindexed rows are placed by the keys at the start of their entities, decrypted without
    /// the tag and accepted only when they hash to the record's key: whether many rows are unknown (read as the
    /// partition's range) or few (read by key), a changed RowKey or a record moved to another row's key fails the
    /// query closed even when the row is not in the page; a change past the keys fails the page that returns it.
    static func learningRowKeys(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        let key = try Fixtures.accountKey()
        let a = TableStore(backend: one), b = TableStore(backend: two)
        try await a.createTable(account: account, name: "learned", accountKey: key)
        let table = try await a.table(account, "learned", key)
        let prefix = try a.partitionPrefix(table, "p", key), chunk = a.indexPrefix(prefix) + "00"
        func main(_ rowKey: String) throws -> String { prefix + (try a.rowHash(table, "p", rowKey, key)) }
        func stored(_ key: String) async throws -> [UInt8] { try #require(try await one.records(table.map, keys: [key])[key]) }
        func put(_ key: String, _ value: [UInt8]?) async throws {
            let current = try await stored(key)
            try await one.apply(RecordBatch(conditions: [.equals(key, current)], sets: value.map { [key: $0] } ?? [:],
                                            removes: value == nil ? [key] : []), to: table.map)
        }
        /// The main record with plaintext byte `offset` of the entity encoding flipped by `bits` (counter mode).
        func flipped(_ value: [UInt8], at offset: Int, _ bits: UInt8) -> [UInt8] {
            var out = value
            out[1 + SealedRecord.overhead - AESGCM.tagSize + offset] ^= bits  // count byte, seal header, then ciphertext
            return out
        }
        func page(_ store: TableStore, _ filter: String = "PartitionKey eq 'p'", top: Int = 10) async throws -> [String] {
            try await store.query(account: account, table: "learned", filter: filter, top: top, accountKey: key).entities.map(\.rowKey)
        }
        let rows = (0..<300).map(row)
        for batch in 0..<3 {
            let operations = rows[(batch * 100)..<(batch * 100 + 100)].map { TableOperation(.insert, entity("p", $0, ["N": .int32(1)])) }
            _ = try await (batch == 1 ? b : a).batch(account: account, table: "learned", operations: operations, accountKey: key)
        }
        // Without the deltas those batches wrote (TableStore+Deltas), as a partition of single inserts: every row learned.
        let deltas = try await one.records(table.map, after: a.deltaPrefix(prefix), limit: 1000).records.map(\.key)
            .filter { $0.hasPrefix(a.deltaPrefix(prefix)) }
        #expect(deltas.count == 3)
        try await one.apply(RecordBatch(removes: deltas), to: table.map)

        // Many unknown (all): a RowKey changed from r280 to s280 would sort past the first page (and the first 256
        // rows a page fetches); it is caught all the same.
        let target = try main(row(280)), original = try await stored(target)
        let rowKeyAt = 1 + 2 + 1 + 2  // version, PartitionKey "p" with its length, the RowKey's length
        try await put(target, flipped(original, at: rowKeyAt, 0x01))  // "r" (0x72) → "s" (0x73)
        await expectError(.integrityFailure) { try await page(a) }
        // Another row's record under this key: its keys hash to its own key, not this one.
        try await put(target, try await stored(try main(row(281))))
        await expectError(.integrityFailure) { try await page(b) }
        // A change past the keys: the first page (r280 not among the rows it opens) is right and writes the index;
        // the page that opens r280 fails.
        let pastKeys = 1 + 2 + 1 + 2 + 4 + 16 + 8 + 2 + 1  // …, the RowKey, ETag, Timestamp, count, the name's length byte
        try await put(target, flipped(original, at: pastKeys, 0x01))
        #expect(try await page(a) == Array(rows.prefix(10)))
        #expect(try await one.records(table.map, keys: [chunk])[chunk] != nil)
        await expectError(.integrityFailure) { try await page(b, "PartitionKey eq 'p' and RowKey ge 'r275'") }
        try await put(target, original)
        #expect(try await page(b, "PartitionKey eq 'p' and RowKey ge 'r275'", top: 6) == Array(rows[275..<281]))

        // Few unknown (read by key, the index in place): the same checks.
        for extra in ["a", "r280x", "zz"] { _ = try await a.insert(account: account, table: "learned", entity: entity("p", extra), accountKey: key) }
        let fresh = try main("r280x"), freshValue = try await stored(fresh)
        try await put(fresh, flipped(freshValue, at: rowKeyAt, 0x01))
        await expectError(.integrityFailure) { try await page(a) }
        try await put(fresh, try await stored(try main("zz")))
        await expectError(.integrityFailure) { try await page(b) }
        try await put(fresh, freshValue)
        #expect(try await page(a) == ["a"] + Array(rows.prefix(9)))
        var all: [String] = [], token: String?
        repeat {
            let next = try await b.query(account: account, table: "learned", filter: "PartitionKey eq 'p'", top: 64, continuation: token, accountKey: key)
            all += next.entities.map(\.rowKey)
            token = next.continuation
        } while token != nil
        #expect(all == (rows + ["a", "r280x", "zz"]).sorted())

        // Keys longer than the bytes read first: a 1000-byte RowKey learned by key, and a partition whose
        // PartitionKey is 900 bytes learned as a range.
        let longRow = "r150" + String(repeating: "y", count: 996)
        _ = try await b.insert(account: account, table: "learned", entity: entity("p", longRow), accountKey: key)
        #expect(try await page(a, "PartitionKey eq 'p' and RowKey gt 'r150'", top: 2) == [longRow, "r151"])
        let longPartition = String(repeating: "q", count: 900), longest = String(repeating: "a", count: 1000)
        for rowKey in ["b", longest] {
            _ = try await a.insert(account: account, table: "learned", entity: entity(longPartition, rowKey), accountKey: key)
        }
        #expect(try await page(b, "PartitionKey eq '\(longPartition)'") == [longest, "b"])
    }

    /// Two engines on two connections replace one entity with the same ETag, round after round: exactly one wins.
    static func racingUpdates(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        let key = try Fixtures.accountKey()
        let stores = [TableStore(backend: one), TableStore(backend: two)]
        try await stores[0].createTable(account: account, name: "race", accountKey: key)
        var etag = try await stores[0].insert(account: account, table: "race", entity: entity("p", "r", ["Winner": .int32(-1)]), accountKey: key).etag
        for round in 0..<20 {
            let current = etag
            let outcomes = try await withThrowingTaskGroup(of: (Int, TableEntity?).self) { group in
                for side in 0..<2 {
                    group.addTask {
                        do {
                            let write = entity("p", "r", ["Winner": .int32(Int32(side)), "Round": .int32(Int32(round))])
                            return (side, try await (round % 2 == 0
                                ? stores[side].replace(account: account, table: "race", entity: write, ifMatch: current, accountKey: key)
                                : stores[side].merge(account: account, table: "race", entity: write, ifMatch: current, accountKey: key)))
                        } catch let error as StorageError where error.code == .conditionFailed {
                            #expect(error.message.contains("has ETag") && error.message.contains("not \(current)"))
                            return (side, nil)
                        }
                    }
                }
                var out: [(Int, TableEntity?)] = []
                for try await outcome in group { out.append(outcome) }
                return out
            }
            let winners = outcomes.compactMap { $0.1 == nil ? nil : $0 }
            #expect(winners.count == 1, "round \(round): \(winners.count) winners")
            guard let (side, won) = winners.first else { return }
            let now = try await stores[1 - side].get(account: account, table: "race", partitionKey: "p", rowKey: "r", accountKey: key)
            #expect(now == won! && now.properties["Winner"] == .int32(Int32(side)))
            etag = now.etag
        }
    }
}

/// The table engine on the local backend (`RadosBackendTests` runs the same bodies on RADOS).
@Suite struct TableStoreTests {
    static let bodies: [(String, @Sendable (any StorageBackend, any StorageBackend) async throws -> Void)] = [
        ("tables", TableStoreContract.tables),
        ("entities", TableStoreContract.entities),
        ("batches", TableStoreContract.batches),
        ("queries", TableStoreContract.queries),
        ("racingUpdates", TableStoreContract.racingUpdates),
        ("partitionIndex", TableStoreContract.partitionIndex),
        ("learningRowKeys", TableStoreContract.learningRowKeys),
        ("indexDeltas", TableStoreContract.indexDeltas),
        ("listingCache", TableStoreContract.listingCache),
        ("tableCache", TableStoreContract.tableCache),
    ]

    @Test(arguments: bodies.map(\.0))
    func contract(_ body: String) async throws {
        try await RecordMapFactory.local.run(body, of: Self.bodies)
    }

    /// Table names, keys, property names and values never reach the files in clear.
    @Test func nothingInClearOnDisk() async throws {
        let key = try Fixtures.accountKey()
        let dir = TempDirectory()
        defer { dir.remove() }
        let store = TableStore(backend: try LocalBackend(directory: dir.path))
        let markers = ["acctYak1181", "tableTapir2291", "pkGecko3391", "rkIbis4481", "PropHeron5571", "valueEgret6661"]
        try await store.createTable(account: markers[0], name: markers[1], accountKey: key)
        for i in 0..<40 {
            _ = try await store.insert(account: markers[0], table: markers[1],
                                       entity: TableEntity(partitionKey: markers[2], rowKey: "\(markers[3])\(i)", properties: [markers[4]: .string(markers[5])]),
                                       accountKey: key)
        }
        let page = try await store.query(account: markers[0], table: markers[1], filter: "\(markers[4]) eq '\(markers[5])'", top: 5, accountKey: key)
        #expect(page.entities.count == 5)
        // A partition query writes the partition's RowKey index (40 entities unindexed: enough).
        #expect(try await store.query(account: markers[0], table: markers[1], filter: "PartitionKey eq '\(markers[2])'", top: 5,
                                      accountKey: key).entities.count == 5)
        // A batch of new rows writes an index delta beside them (their RowKeys, sealed), left for the next query.
        _ = try await store.batch(account: markers[0], table: markers[1], operations: (40..<60).map {
            TableOperation(.insert, TableEntity(partitionKey: markers[2], rowKey: "\(markers[3])\($0)", properties: [markers[4]: .string(markers[5])]))
        }, accountKey: key)
        let table = try await store.table(markers[0], markers[1], key)
        let deltaPrefix = store.deltaPrefix(try store.partitionPrefix(table, markers[2], key))
        #expect(try await store.backend.records(table.map, after: deltaPrefix, limit: 10).records.contains { $0.key.hasPrefix(deltaPrefix) })
        let files = dir.allFiles()
        #expect(files.contains { $0.hasSuffix(".sqlite") })
        for marker in markers.map { Array($0.utf8) } + [try #require(Hex.decode(page.entities[0].etag))] {
            for file in files {
                #expect(!file.contains(String(decoding: marker, as: UTF8.self)), "path \(file) shows \(marker)")
                #expect(!dir.contents(file).contains(subsequence: marker), "\(file) contains \(marker)")
            }
        }
    }
}
