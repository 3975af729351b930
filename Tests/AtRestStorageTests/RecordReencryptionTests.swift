import Testing
import AtRestCrypto
@testable import AtRestStorage

/// `RecordReencryption`: every record of an account's queues, tables, disks
/// and shares under version 1 is resealed under version 2 in small pages
/// that resume from their tokens; afterwards a key holding version 2 alone
/// (version 1 retired) reads everything, with the same message ids, pop
/// receipts and ETags; a second walk reseals nothing; a concurrent change
/// wins over a reseal and a queue delete racing one still succeeds. The
/// bodies run on `local` here and on RADOS in `RadosBackendTests` (written
/// and walked through one client, read back through the other).
@Suite struct RecordReencryptionTests {
    static let bodies: [(String, @Sendable (any StorageBackend, any StorageBackend) async throws -> Void)] = [
        ("everyKindMovesAndReadsWithTheNewVersionAlone", everyKindMovesAndReadsWithTheNewVersionAlone),
        ("concurrentChangesWinAndQueueVerbsRetry", concurrentChangesWinAndQueueVerbsRetry),
    ]

    @Test(arguments: bodies.map(\.0))
    func contract(_ body: String) async throws {
        try await RecordMapFactory.local.run(body, of: Self.bodies)
    }

    struct Account {
        let backend: any StorageBackend
        let v1: AccountKey, v2: AccountKey, v2Only: AccountKey
        var queues: QueueStore { QueueStore(backend: backend) }
        var tables: TableStore { TableStore(backend: backend) }
        var disks: DiskStore { DiskStore(backend: backend) }
        var files: FileStore { FileStore(backend: backend) }

        init(_ backend: any StorageBackend) throws {
            self.backend = backend
            v1 = try AccountKey(key: SecretBytes(randomCount: 32), reference: AccountKeyVersionTests.reference(1))
            let aek2 = try SecretBytes(randomCount: 32)
            v2Only = try AccountKey(key: aek2, reference: AccountKeyVersionTests.reference(2), nameKey: AccountKey.nameKey(derivedFrom: v1.key))
            v2 = v2Only.adding([v1])
        }

        /// Walks `kind` to the end in pages of `budget` records; the pages' sums.
        func walk(_ kind: RecordKind, budget: Int, key: AccountKey? = nil) async throws -> (page: ReencryptPage, pages: Int) {
            let walker = RecordReencryption(backend: backend, account: "acct", accountKey: key ?? v2, migrating: [1, 2])
            var total = ReencryptPage(), token: String?, pages = 0
            repeat {
                let page = try await walker.page(kind, pageToken: token, maxRecords: budget)
                (total.objects, total.rewritten, total.raced, total.bytes) = (total.objects + page.objects, total.rewritten + page.rewritten,
                                                                              total.raced + page.raced, total.bytes + page.bytes)
                token = page.nextPageToken
                pages += 1
            } while token != nil && pages < 10_000
            return (total, pages)
        }
    }

    static func everyKindMovesAndReadsWithTheNewVersionAlone(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        let a = try Account(one)
        let v1 = a.v1

        try await a.queues.createQueue(account: "acct", name: "work", accountKey: v1)
        var bodies: [String: [UInt8]] = [:]
        for i in 0..<12 { bodies[try await a.queues.put(account: "acct", queue: "work", body: Fixtures.data(i * 100 + 1, seed: UInt8(i)), accountKey: v1).id] = Fixtures.data(i * 100 + 1, seed: UInt8(i)) }
        let held = try #require(try await a.queues.get(account: "acct", queue: "work", count: 1, visibilitySeconds: 600, accountKey: v1).first)

        _ = try await a.tables.createTable(account: "acct", name: "People", accountKey: v1)
        var entities: [TableEntity] = []
        for i in 0..<40 {
            entities.append(try await a.tables.insert(account: "acct", table: "People", entity: TableEntity(partitionKey: "p", rowKey: "r\(i)", properties: ["n": .int32(Int32(i))]), accountKey: v1))
        }
        entities.append(try await a.tables.insert(account: "acct", table: "People", entity: TableEntity(partitionKey: "b", rowKey: "big", properties: [
            "x": .binary(Fixtures.data(60_000, seed: 1)), "y": .binary(Fixtures.data(60_000, seed: 2)), "z": .binary(Fixtures.data(60_000, seed: 3)),
        ]), accountKey: v1))
        #expect(try await a.tables.query(account: "acct", table: "People", filter: "PartitionKey eq 'p'", accountKey: v1).entities.count == 40)  // writes the index

        _ = try await a.disks.createDisk(account: "acct", name: "disk-one", size: 2 << 20, accountKey: v1)
        let pages = Fixtures.data(40_960, seed: 5)
        try await a.disks.writePages(account: "acct", name: "disk-one", offset: 1 << 20, data: pages, accountKey: v1)
        // A write of whole chunks long enough for an extent (an object of its own, which moves too).
        let extentPages = Fixtures.data(512 << 10, seed: 6)
        try await a.disks.writePages(account: "acct", name: "disk-one", offset: 0, data: extentPages, accountKey: v1)
        let extents = try BackendContainer("\(try v1.accountContainer("acct").id)/x")
        #expect(try await one.list(extents, prefix: "kx-", continuation: nil, limit: 10).names.count == 1, "the write made one extent")

        _ = try await a.files.createShare(account: "acct", name: "docs", quota: 1 << 30, accountKey: v1)
        _ = try await a.files.createDirectory(account: "acct", share: "docs", path: "dir", accountKey: v1)
        let big = Fixtures.data(300_000, seed: 8), small = Fixtures.data(100, seed: 9)
        _ = try await a.files.createFile(account: "acct", share: "docs", path: "dir/big", data: big, accountKey: v1)
        _ = try await a.files.createFile(account: "acct", share: "docs", path: "small", data: small, accountKey: v1)

        // Before: version 2 alone opens nothing of it.
        await #expect { _ = try await a.disks.readPages(account: "acct", name: "disk-one", offset: 1 << 20, length: 4096, accountKey: a.v2Only) } throws: { error in
            (error as? StorageError)?.code == .wrongKey
        }
        for kind in RecordKind.allCases {
            let (page, count) = try await a.walk(kind, budget: 7)
            #expect(page.rewritten > 0 && page.rewritten == page.objects && page.raced == 0, "\(kind): \(page)")
            #expect(count > 1, "\(kind) took several pages")
        }
        // A second walk finds everything current.
        for kind in RecordKind.allCases {
            let (page, _) = try await a.walk(kind, budget: 1000)
            #expect(page.rewritten == 0 && page.objects > 0, "\(kind): \(page)")
        }

        // Version 2 alone (version 1 retired) reads everything, unchanged, through the other client.
        let v2 = a.v2Only
        let (rq, rt, rd, rf) = (QueueStore(backend: two), TableStore(backend: two), DiskStore(backend: two), FileStore(backend: two))
        let peeked = try await rq.peek(account: "acct", queue: "work", count: 32, accountKey: v2)
        #expect(Dictionary(uniqueKeysWithValues: peeked.map { ($0.id, $0.body) }) == bodies.filter { $0.key != held.id })
        try await rq.delete(account: "acct", queue: "work", messageID: held.id, popReceipt: try #require(held.popReceipt), accountKey: v2)
        for entity in entities {
            let got = try await rt.get(account: "acct", table: "People", partitionKey: entity.partitionKey, rowKey: entity.rowKey, accountKey: v2)
            #expect(got == entity, "\(entity.rowKey): same properties, ETag and timestamp")
        }
        #expect(try await rt.query(account: "acct", table: "People", filter: "PartitionKey eq 'p'", accountKey: v2).entities.count == 40)
        #expect(try await rd.readPages(account: "acct", name: "disk-one", offset: 1 << 20, length: pages.count, accountKey: v2) == pages)
        #expect(try await rd.readPages(account: "acct", name: "disk-one", offset: 0, length: extentPages.count, accountKey: v2) == extentPages)
        #expect(try await rf.readFile(account: "acct", share: "docs", path: "dir/big", offset: 0, length: big.count, accountKey: v2) == big)
        #expect(try await rf.readFile(account: "acct", share: "docs", path: "small", offset: 0, length: small.count, accountKey: v2) == small)
        #expect(try await rf.listDirectory(account: "acct", share: "docs", path: "", accountKey: v2).entries.count == 2)
        #expect(try await rf.shareProperties(account: "acct", name: "docs", accountKey: v2).usageBytes == UInt64(big.count + small.count))
    }

    static func concurrentChangesWinAndQueueVerbsRetry(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        let a = try Account(one)
        try await a.queues.createQueue(account: "acct", name: "work", accountKey: a.v1)
        for i in 0..<40 { _ = try await a.queues.put(account: "acct", queue: "work", body: [UInt8(i)], accountKey: a.v1) }
        let claimed = try await a.queues.get(account: "acct", queue: "work", count: 32, visibilitySeconds: 600, accountKey: a.v1)
        #expect(claimed.count == 32)
        // Deletes (with the receipts given under version 1) race the walk: every delete succeeds, no message is left twice.
        async let walked = a.walk(.queues, budget: 3)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for message in claimed {
                group.addTask { try await a.queues.delete(account: "acct", queue: "work", messageID: message.id, popReceipt: message.popReceipt!, accountKey: a.v2) }
            }
            try await group.waitForAll()
        }
        let page = try await walked.page
        #expect(page.rewritten + page.raced <= 41, "\(page)")
        _ = try await a.walk(.queues, budget: 1000)
        let left = try await QueueStore(backend: two).peek(account: "acct", queue: "work", count: 32, accountKey: a.v2Only)
        #expect(left.count == 8 && Set(left.map(\.body)).count == 8)

        // A reseal conditional on stale bytes loses: the record keeps what the other call wrote.
        let walker = RecordReencryption(backend: a.backend, account: "acct", accountKey: a.v2, migrating: [1])
        let map = try RecordMapName(try a.v1.accountContainer("acct"), "queues")
        let current = try #require(try await a.backend.records(map, after: nil, limit: 1).records.first)
        let stale = Record(key: current.key, value: try SealedRecord.seal(try SealedRecord.open(current.value, context: QueueStore.queueContext("acct"),
                                                                                                 map: map, key: current.key, accountKey: a.v2),
                                                                           context: QueueStore.queueContext("acct"), map: map, key: current.key, accountKey: a.v1))
        var counted = ReencryptPage()
        try await walker.reseal([stale], in: map, { _ in .record(QueueStore.queueContext("acct")) }, &counted)
        #expect(counted.raced == 1 && counted.rewritten == 0, "\(counted)")
        #expect(try await a.backend.records(map, keys: [current.key])[current.key] == current.value)

        // A token this walk never made is refused.
        await #expect { _ = try await walker.page(.tables, pageToken: "r1 x", maxRecords: 10) } throws: { error in
            (error as? StorageError)?.code == .invalidArgument
        }
    }

    /// A queue delete or update whose batch loses to a reseal of its message
    /// (made to happen there: the walk runs from inside the backend call
    /// the verb is making) reads the message again and succeeds: the pop
    /// receipt is still the message's.
    @Test func popReceiptVerbsLosingToAResealRetry() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let a = try Account(try LocalBackend(directory: dir.path))
        let hooked = HookedBackend(a.backend)
        let queues = QueueStore(backend: hooked)
        try await queues.createQueue(account: "acct", name: "work", accountKey: a.v1)
        for i in 0..<2 { _ = try await queues.put(account: "acct", queue: "work", body: [UInt8(i)], accountKey: a.v1) }
        let got = try await queues.get(account: "acct", queue: "work", count: 2, visibilitySeconds: 600, accountKey: a.v1)
        func key(_ message: QueuedMessage) throws -> String {
            let receipt = try #require(message.popReceipt), id = try #require(Hex.decode(message.id))
            return try #require(MessageRecord.parse(popReceipt: receipt, id: id)).key
        }
        let (first, second) = (try key(got[0]), try key(got[1]))

        let toV2 = RecordReencryption(backend: a.backend, account: "acct", accountKey: a.v2, migrating: [1])
        hooked.beforeApplying(where: { _, batch in batch.removes.contains(first) }) {
            let page = try await toV2.page(.queues, pageToken: nil, maxRecords: 1000)
            #expect(page.rewritten == 3, "\(page)")
        }
        try await queues.delete(account: "acct", queue: "work", messageID: got[0].id, popReceipt: got[0].popReceipt!, accountKey: a.v2)
        #expect(hooked.ran, "the reseal ran inside the delete")

        // Version 3 reseals the other message just before its update's batch.
        let v3 = try AccountKey(key: SecretBytes(randomCount: 32), reference: AccountKeyVersionTests.reference(3),
                                nameKey: AccountKey.nameKey(derivedFrom: a.v1.key)).adding([a.v1, a.v2Only])
        let toV3 = RecordReencryption(backend: a.backend, account: "acct", accountKey: v3, migrating: [1, 2])
        hooked.beforeApplying(where: { _, batch in batch.conditions.contains { $0.key == second } }) {
            let page = try await toV3.page(.queues, pageToken: nil, maxRecords: 1000)
            #expect(page.rewritten == 2, "\(page)")
        }
        let updated = try await queues.update(account: "acct", queue: "work", messageID: got[1].id, popReceipt: got[1].popReceipt!,
                                              visibilitySeconds: 0, accountKey: v3)
        #expect(hooked.ran, "the reseal ran inside the update")
        // Its own body, whichever of the two puts it was (messages put in the same instant come back in id order, not put order).
        #expect(updated.id == got[1].id && updated.dequeueCount == 1 && updated.body == got[1].body && updated.popReceipt != got[1].popReceipt)
        #expect(Set(got.map(\.body)) == [[0], [1]])
        #expect(try await queues.peek(account: "acct", queue: "work", count: 32, accountKey: v3).map(\.id) == [got[1].id])
    }

    /// A damaged record under the old version fails the page (integrity), never crashes it or is skipped.
    @Test func damagedRecordsFailThePage() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let a = try Account(try LocalBackend(directory: dir.path))
        _ = try await a.tables.createTable(account: "acct", name: "People", accountKey: a.v1)
        _ = try await a.tables.insert(account: "acct", table: "People", entity: TableEntity(partitionKey: "p", rowKey: "r"), accountKey: a.v1)
        let directory = try RecordMapName(try a.v1.accountContainer("acct"), "tables")
        let table = try #require(try await a.backend.records(directory, after: nil, limit: 1).records.first)
        let id = try TableRecord(decoding: try SealedRecord.open(table.value, context: TableStore.tableContext("acct"), map: directory,
                                                                 key: table.key, accountKey: a.v1)).id
        let map = try RecordMapName(directory.container, "t-\(Hex.encode(id))")
        let entity = try #require(try await a.backend.records(map, after: nil, limit: 1).records.first)
        var badCount = entity.value, badTag = entity.value, badFormat = entity.value
        badCount[0] = 200
        badTag[badTag.count - 1] ^= 1
        badFormat[1] = 9
        for (damaged, code) in [(badCount, StorageError.Code.integrityFailure), (badTag, .integrityFailure), (badFormat, .unsupportedFormat)] {
            try await a.backend.apply(RecordBatch(sets: [entity.key: damaged]), to: map)
            await #expect { _ = try await a.walk(.tables, budget: 100) } throws: { error in
                (error as? StorageError)?.code == code
            }
        }
    }
}
