@testable import AtRestStorage
import Testing

/// The read-only walks `atrest-recover` uses, on a real local backend:
/// each record opened on its own, the odd ones reported rather than passed
/// over (a piece record whose entity is gone, a record that is not a chunk
/// of its region, a chunk beyond the disk's end), never any key material.
@Suite struct StoreRecoveryTests {
    @Test func tablesReportAPieceWithoutItsEntity() async throws {
        let key = try Fixtures.accountKey()
        let dir = TempDirectory()
        defer { dir.remove() }
        let store = TableStore(backend: try LocalBackend(directory: dir.path))
        try await store.createTable(account: "acct", name: "Things", accountKey: key)
        let small = TableEntity(partitionKey: "p", rowKey: "small", properties: ["N": .int32(5)])
        let large = TableEntity(partitionKey: "p", rowKey: "large", properties: ["B": .binary(Array(repeating: 7, count: 300_000))])
        for entity in [small, large] { _ = try await store.insert(account: "acct", table: "Things", entity: entity, accountKey: key) }
        func walk() async throws -> (good: [String: TableEntity], damaged: [TableStore.DamagedRecord]) {
            let found = try await store.recoverTables(account: "acct", accountKey: key)
            #expect(found.tables.map(\.info.name) == ["Things"] && found.damaged.isEmpty)
            var good: [String: TableEntity] = [:], damaged: [TableStore.DamagedRecord] = []
            try await store.recoverEntities(of: try #require(found.tables.first), accountKey: key) { opened in
                switch opened {
                case .success(let entity): good[entity.rowKey] = entity
                case .failure(let record): damaged.append(record)
                }
            }
            return (good, damaged)
        }
        let whole = try await walk()
        #expect(whole.damaged.isEmpty && whole.good["small"]?.properties == small.properties && whole.good["large"]?.properties == large.properties)

        // A partition query writes the partition's index (a cache): the walk passes over it; a record of no known kind is reported.
        for i in 0..<40 {
            _ = try await store.insert(account: "acct", table: "Things", entity: TableEntity(partitionKey: "q", rowKey: "r\(i)", properties: [:]), accountKey: key)
        }
        #expect(try await store.query(account: "acct", table: "Things", filter: "PartitionKey eq 'q'", accountKey: key).entities.count == 40)
        let indexed = try await store.table("acct", "Things", key)
        #expect(try await store.backend.recordKeys(indexed.map, after: nil, limit: 1000).keys.contains { $0.hasPrefix("i-") },
                "the partition query wrote no index to pass over")
        try await store.backend.apply(RecordBatch(sets: ["x-stray": [1]]), to: indexed.map)
        let withIndex = try await walk()
        #expect(withIndex.good.count == 42 && withIndex.damaged.map(\.key) == ["x-stray"], "\(withIndex.damaged)")
        try await store.backend.apply(RecordBatch(removes: ["x-stray"] + (0..<40).map { try store.entityKey(indexed, "q", "r\($0)", key) }), to: indexed.map)

        // The large entity's main record gone: its pieces are reported, the other entity still reads.
        let table = try await store.table("acct", "Things", key)
        let main = try store.entityKey(table, "p", "large", key)
        try await store.backend.apply(RecordBatch(removes: [main]), to: table.map)
        let broken = try await walk()
        #expect(broken.good.keys.sorted() == ["small"])
        #expect(broken.damaged.count == 2 && broken.damaged.allSatisfy { $0.key.hasPrefix(main + "-") && $0.reason.contains("entity record is missing") },
                "\(broken.damaged)")
    }

    @Test func disksReportStrayRecordsAndGoOn() async throws {
        let key = try Fixtures.accountKey()
        let dir = TempDirectory()
        defer { dir.remove() }
        let store = DiskStore(backend: try LocalBackend(directory: dir.path))
        // 2.5 chunks: the last chunk ends at the disk's end.
        try await store.createDisk(account: "acct", name: "small-disk", size: 10_240, accountKey: key)
        let data = (0..<4096).map { UInt8(truncatingIfNeeded: $0 * 7) }
        try await store.writePages(account: "acct", name: "small-disk", offset: 8192, data: Array(data[..<2048]), accountKey: key)
        try await store.writePages(account: "acct", name: "small-disk", offset: 0, data: data, accountKey: key)
        let disk = try await store.lookUp("acct", "small-disk", key)
        let region = try store.region(disk, 0)
        let sealed = try #require(try await store.backend.records(region, keys: ["0000000000"])["0000000000"])
        // A record that is no chunk key, and a chunk beyond the end (a copy of chunk 0's value: it must not be opened as data).
        try await store.backend.apply(RecordBatch(sets: ["zz": [1], DiskStore.chunkKey(9): sealed]), to: region)

        let found = try await store.recoverDisks(account: "acct", accountKey: key)
        #expect(found.disks.map(\.info.name) == ["small-disk"] && found.damaged.isEmpty)
        var good: [UInt64: [UInt8]] = [:], damaged: [DiskStore.DamagedRecord] = []
        try await store.recoverChunks(of: try #require(found.disks.first), accountKey: key) { opened in
            switch opened {
            case .success(let chunk): good[chunk.offset] = chunk.bytes
            case .failure(let record): damaged.append(record)
            }
        }
        #expect(good.keys.sorted() == [0, 8192])
        #expect(good[0] == data && good[8192] == Array(data[..<2048]) + Array(repeating: 0, count: 2048))
        #expect(damaged.map(\.key).sorted() == ["0000/0000000009", "0000/zz"], "\(damaged)")
        #expect(damaged.first { $0.key == "0000/0000000009" }?.reason.contains("beyond the disk's end") == true)
        #expect(damaged.first { $0.key == "0000/zz" }?.reason.contains("not a chunk of this region") == true)
    }
}
