import AtRestCrypto
import Testing
@testable import AtRestStorage

/// Extents (docs/FORMAT.md "Extents"): bodies of `ChunkedDataContract`,
/// run on local (`ChunkedDataTests`) and RADOS (`RadosBackendTests`).
extension ChunkedDataContract {
    /// Every record of `map`, all pages (none when it is missing).
    static func allRecords(_ backend: any StorageBackend, _ map: RecordMapName) async throws -> [Record] {
        var records: [Record] = [], after: String?
        repeat {
            let page: RecordPage
            do { page = try await backend.records(map, after: after, limit: 1000) } catch let error as StorageError where error.code == .notFound { return [] }
            records += page.records
            after = page.more ? page.records.last?.key : nil
        } while after != nil
        return records
    }

    /// Checks that every extent object of `data` has its marker and at least
    /// one chunk referring to it, every marker in `regions` its object, and
    /// each marker's bits exactly the chunks that refer to its extent
    /// (nothing dead or orphaned once every call has finished), except the
    /// orphan collector's tombstones (no bit, no object, no reference); the extents' count.
    @discardableResult
    static func auditExtents(_ data: ChunkedData, regions: Range<UInt64>, sourceLocation: SourceLocation = #_sourceLocation) async throws -> Int {
        let names = Set(try await data.extentObjects())
        var marked = Set<String>()
        for region in regions {
            let map = try data.map(region)
            let records = try await allRecords(data.backend, map)
            for record in records {
                guard let id = ChunkedData.markerID(ofKey: record.key) else { continue }
                let marker = try data.marker(record.value, map, record.key), extent = marker.extent
                let name = try data.extentName(extent).object
                if marker.isDead {
                    // A tombstone of the orphan collector: its extent is gone and nothing refers to it.
                    #expect(!names.contains(name), "the tombstoned extent \(extent.hexID) is still stored", sourceLocation: sourceLocation)
                    #expect(try !records.contains { try ChunkedData.chunkIndex(ofKey: $0.key) != nil && ChunkedData.Reference.decode($0.value) == id },
                            "a chunk refers to the tombstoned extent \(extent.hexID)", sourceLocation: sourceLocation)
                    continue
                }
                marked.insert(name)
                #expect(names.contains(name), "the marker of \(extent.hexID) names no object", sourceLocation: sourceLocation)
                let referring = try records.filter { record in
                    guard ChunkedData.chunkIndex(ofKey: record.key) != nil else { return false }
                    return try ChunkedData.Reference.decode(record.value) == id
                }
                #expect(!referring.isEmpty, "no chunk refers to extent \(extent.hexID): it is dead and still stored", sourceLocation: sourceLocation)
                let chunks = Set(referring.map { ChunkedData.chunkIndex(ofKey: $0.key)! })
                #expect(chunks.allSatisfy(extent.chunks.contains), sourceLocation: sourceLocation)
                #expect(Set(extent.chunks.filter(marker.isLive)) == chunks, "the marker's bits of \(extent.hexID) are not its references",
                        sourceLocation: sourceLocation)
            }
        }
        #expect(names == marked, "extent objects without a marker: \(names.subtracting(marked))", sourceLocation: sourceLocation)
        return names.count
    }

    /// Runs of whole chunks become one extent each (its chunks' records
    /// references, much shorter than a chunk); partial writes into an extent
    /// read it and write a chunk record; an extent whose chunks are all
    /// replaced, cleared or cut off is deleted, and nothing else is; the
    /// same bytes written twice are two different ciphertexts. Disks: a 4
    /// MiB write is extents of at most 128 chunks (one aligned batch each).
    static func extentsOfLargeWrites(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        let key = try Fixtures.accountKey(), id = try newID()
        let data = try object(one, id: id, key), other = try object(two, id: id, key)
        let MiB = 1 << 20
        let first = Fixtures.data(MiB, seed: 1)
        try await data.write(at: 0, first)
        #expect(try await auditExtents(other, regions: 0..<1) == 1)
        for index in 0..<UInt64(16) {
            let value = try #require(try await raw(other, index).value)
            #expect(try ChunkedData.Reference.decode(value) != nil, "chunk \(index) is a reference")
        }
        #expect(try await other.read(at: 1000, length: MiB - 2000).bytes == Array(first[1000..<(MiB - 1000)]))
        #expect(try await other.storedRanges(at: 0, length: 4 * UInt64(MiB)) == [0..<UInt64(MiB)])

        // A few bytes inside: that chunk becomes a record of its own, the extent stays for the others.
        var expected = first
        try await other.write(at: 70_000, fill(9, 100))
        expected.replaceSubrange(70_000..<70_100, with: fill(9, 100))
        #expect(try #require(try await raw(other, 1).value).count > Int(chunk))
        #expect(try await data.read(at: 0, length: MiB).bytes == expected)
        let firstExtent = try await data.extentObjects()
        #expect(try await auditExtents(data, regions: 0..<1) == 1)

        // The whole range again: the old extent goes, one new one holds it.
        let second = Fixtures.data(MiB, seed: 2)
        try await data.write(at: 0, second)
        let secondExtent = try await data.extentObjects()
        #expect(secondExtent.count == 1 && secondExtent != firstExtent)
        #expect(try await other.read(at: 0, length: MiB).bytes == second)

        // Two chunks (below the extent size) over its start: chunk records; the extent keeps its other 14.
        try await data.write(at: 0, fill(7, 2 * Int(chunk)))
        #expect(try await data.extentObjects() == secondExtent)
        #expect(try await other.read(at: 0, length: MiB).bytes == fill(7, 2 * Int(chunk)) + Array(second[(2 * Int(chunk))...]))
        try await auditExtents(other, regions: 0..<1)

        // Cleared: nothing left, no object, no marker.
        try await other.clear(at: 0, length: UInt64(MiB))
        #expect(try await data.extentObjects().isEmpty)
        #expect(try await data.storedRanges(at: 0, length: UInt64(MiB)) == [])
        #expect(try await allRecords(one, try data.map(0)).isEmpty)

        // The same bytes twice: two extents, two different ciphertexts (a new salt, so a new key, each).
        try await data.write(at: 0, second)
        try await data.write(at: UInt64(MiB), second)
        let twice = try await data.extentObjects()
        #expect(twice.count == 2)
        var sealed: [[UInt8]] = []
        for name in twice {
            let object = try await one.open(try BackendName(try data.extentContainer(), name))
            sealed.append(try await object.read(at: 0, count: Int(object.info.size)))
        }
        #expect(sealed[0] != sealed[1] && !sealed[0].contains(subsequence: Array(second[0..<64])))
        try await data.deleteAll(size: 2 * UInt64(MiB))
        #expect(try await data.extentObjects().isEmpty)

        // Disks: 4 KiB chunks, a 4 MiB write at an odd page.
        let diskID = try newID()
        let disk = try object(one, id: diskID, key, geometry: .disk), diskReader = try object(two, id: diskID, key, geometry: .disk)
        let pages = Fixtures.data(4 * MiB, seed: 3)
        try await disk.write(at: 512, pages)
        #expect(try await diskReader.read(at: 0, length: 4 * MiB + 1024).bytes == fill(0, 512) + pages + fill(0, 512))
        // Aligned batches of 128 chunks: the first holds 127 whole ones, then 7 whole batches; the last chunk is partial.
        #expect(try await auditExtents(diskReader, regions: 0..<1) == 8)
        try await disk.deleteAll(size: 8 * UInt64(MiB))
        #expect(try await disk.extentObjects().isEmpty)
    }

    /// An extent rewritten chunk by chunk keeps its object while more than
    /// half of its chunks refer to it; the write that leaves half moves the
    /// rest out (chunk records, conditional on their references) and deletes
    /// it with its marker. Every byte reads the same before and after; a
    /// chunk rewritten in part after that is an ordinary record edit. A
    /// clear that leaves half does the same.
    static func extentsMostlyRewrittenMoveOut(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        let key = try Fixtures.accountKey(), id = try newID()
        let data = try object(one, id: id, key), other = try object(two, id: id, key)
        let MiB = 1 << 20, chunks = MiB / Int(chunk)
        var expected = Fixtures.data(MiB, seed: 4)
        try await data.write(at: 0, expected)
        let extent = try await data.extentObjects()
        #expect(extent.count == 1 && chunks == 16)
        // Rewrite chunks 0, 2, 4, … one call each (whole chunks, too few for an extent): 9 … 16 live, the extent stays.
        for (n, index) in stride(from: 0, to: chunks, by: 2).prefix(7).enumerated() {
            let bytes = Fixtures.data(Int(chunk), seed: UInt8(10 + n))
            try await other.write(at: UInt64(index) * chunk, bytes)
            expected.replaceSubrange(index * Int(chunk)..<(index + 1) * Int(chunk), with: bytes)
        }
        #expect(try await data.extentObjects() == extent)
        #expect(try await auditExtents(data, regions: 0..<1) == 1)
        #expect(try await data.read(at: 0, length: MiB).bytes == expected)
        // The eighth leaves 8 of 16: the rest move out, the extent and its marker go.
        let eighth = Fixtures.data(Int(chunk), seed: 99)
        try await other.write(at: 14 * chunk, eighth)
        expected.replaceSubrange(14 * Int(chunk)..<15 * Int(chunk), with: eighth)
        #expect(try await data.extentObjects().isEmpty)
        #expect(try await auditExtents(data, regions: 0..<1) == 0)
        let records = try await allRecords(one, try data.map(0))
        #expect(records.count == chunks && records.allSatisfy { ChunkedData.chunkIndex(ofKey: $0.key) != nil })
        for record in records { #expect(try ChunkedData.Reference.decode(record.value) == nil, "chunk \(record.key) still refers to an extent") }
        #expect(try await other.read(at: 0, length: MiB).bytes == expected)
        // A moved-out chunk written in part: an ordinary edit of its record.
        try await data.write(at: chunk + 10, fill(3, 20))
        expected.replaceSubrange(Int(chunk) + 10..<Int(chunk) + 30, with: fill(3, 20))
        #expect(try await other.read(at: 0, length: MiB).bytes == expected)

        // A clear does the same: a new extent at 1 MiB, half of it cleared in one call, the rest moved out.
        var second = Fixtures.data(MiB, seed: 5)
        try await data.write(at: UInt64(MiB), second)
        #expect(try await data.extentObjects().count == 1)
        try await other.clear(at: UInt64(MiB) + 4 * chunk, length: 8 * chunk)
        second.replaceSubrange(4 * Int(chunk)..<12 * Int(chunk), with: fill(0, 8 * Int(chunk)))
        #expect(try await data.extentObjects().isEmpty)
        #expect(try await auditExtents(data, regions: 0..<1) == 0)
        #expect(try await data.read(at: UInt64(MiB), length: MiB).bytes == second)
        try await data.deleteAll(size: 2 * UInt64(MiB))
    }

    /// A reference moved to another chunk, a reference of another object, an
    /// extent copied over another one's name, an edited extent or a missing
    /// one: `.integrityFailure`, never other bytes. Put back, it all reads.
    static func extentsTamperFailsClosed(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        let key = try Fixtures.accountKey()
        let id = try newID()
        let data = try object(one, id: id, key, geometry: small), reader = try object(two, id: id, key, geometry: small)
        let others = try object(one, id: try newID(), key, geometry: small)
        let a = Fixtures.data(2 * Int(chunk), seed: 1), b = Fixtures.data(2 * Int(chunk), seed: 2)
        try await data.write(at: 0, a)
        try await data.write(at: 2 * chunk, b)
        try await others.write(at: 0, a)
        #expect(try await auditExtents(reader, regions: 0..<1) == 2)
        let zero = try await raw(data, 0), two = try await raw(data, 2)
        let (refA, refB) = (try #require(zero.value), try #require(two.value))

        func expectIntegrityFailure(_ offset: UInt64, sourceLocation: SourceLocation = #_sourceLocation) async {
            await expectError(.integrityFailure, nil, { try await reader.read(at: offset, length: 10).bytes }, sourceLocation: sourceLocation)
        }
        func restore() async throws {
            try await one.apply(RecordBatch(sets: [zero.key: refA, two.key: refB]), to: zero.map)
            #expect(try await reader.read(at: 0, length: 4 * Int(chunk)).bytes == a + b)
        }

        // A reference at another chunk (its seal names its key).
        try await one.apply(RecordBatch(sets: [zero.key: refB]), to: zero.map)
        await expectIntegrityFailure(0)
        try await restore()
        // Another object's reference under the same key (its seal names its object).
        let theirs = try #require(try await raw(others, 0).value)
        try await one.apply(RecordBatch(sets: [zero.key: theirs]), to: zero.map)
        await expectIntegrityFailure(0)
        try await restore()

        // Extent B's bytes under extent A's name: the metadata names B.
        let names = try await data.extentObjects().sorted()
        let container = try data.extentContainer()
        func bytes(_ name: String) async throws -> [UInt8] {
            let object = try await one.open(try BackendName(container, name))
            return try await object.read(at: 0, count: Int(object.info.size))
        }
        let idA = try #require(try ChunkedData.Reference.decode(refA), "chunk 0 is no reference")
        let nameA = try data.extentName(ChunkedData.Extent(id: idA, first: 0, count: 1)).object, nameB = try #require(names.first { $0 != nameA })
        let (sealedA, sealedB) = (try await bytes(nameA), try await bytes(nameB))
        _ = try await one.put(try BackendName(container, nameA), sealedB)
        await expectIntegrityFailure(0)
        // Edited (a byte of the first segment's ciphertext).
        var edited = sealedA
        edited[edited.count / 4] ^= 0x01
        _ = try await one.put(try BackendName(container, nameA), edited)
        await expectIntegrityFailure(0)
        // Gone: reads fail, and so does a write of part of one of its chunks (which must read it), after a few tries.
        try await one.delete(try BackendName(container, nameA), condition: .none)
        await expectIntegrityFailure(0)
        await expectError(.integrityFailure, nil, { try await reader.write(at: 5, [9]) })
        _ = try await one.put(try BackendName(container, nameA), sealedA)
        try await restore()
    }

    /// The orphan collector (`OrphanExtents`, FORMAT.md "Extents"): an
    /// extent whose batch never came (a crash) is deleted once older than
    /// the grace, and a tombstone takes its marker key; a younger one, and
    /// every extent a batch names, stay. A writer whose extent is condemned
    /// between its put and its batch (the collector runs just before the
    /// batch) finds the tombstone and writes its run as a new extent: its
    /// data lands whole. A clear over a tombstone leaves it.
    static func orphanExtentsCollected(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        let key = try Fixtures.accountKey(), id = try newID()
        let hooked = HookedBackend(one)
        let data = try object(hooked, id: id, key), other = try object(two, id: id, key)
        let MiB = 1 << 20, now = QueueStore.wallClock()
        @Sendable func collect(grace: Int) async throws -> OrphanExtents.Result {
            try await OrphanExtents.collect(backend: two, account: account, accountKey: key, graceSeconds: grace, now: now, geometries: [.file])
        }
        #expect(try await collect(grace: 0) == OrphanExtents.Result())  // no extent container yet

        // Live data: one extent, named by its batch.
        let live = Fixtures.data(MiB, seed: 5)
        try await data.write(at: 0, live)
        // Orphans: extents put with no batch after them, in region 0 (one day old, and just made) and region 2.
        let old = try ChunkedData.Extent.make(first: 32, count: 8, now: now - 86_400_000)
        let young = try ChunkedData.Extent.make(first: 48, count: 8, now: now)
        let oldFar = try ChunkedData.Extent.make(first: 2 * 16_384, count: 4, now: now - 86_400_000)
        for extent in [old, young, oldFar] {
            try await data.writeExtent(extent, Fixtures.data(Int(extent.count) * Int(chunk), seed: 6)[...])
        }
        #expect(try await data.extentObjects().count == 4)
        // An hour's grace: the day-old orphan in region 0 goes; region 2 has no map, so its orphan cannot be judged.
        #expect(try await collect(grace: 3600) == OrphanExtents.Result(removed: 1, kept: 1, skipped: 1))
        let left = Set(try await data.extentObjects())
        let oldName = try data.extentName(old).object, youngName = try data.extentName(young).object
        #expect(!left.contains(oldName) && left.contains(youngName) && left.count == 3)
        let tombstone = try #require(try await two.records(try data.map(0), keys: [ChunkedData.markerKey(old)])[ChunkedData.markerKey(old)])
        #expect(try data.marker(tombstone, try data.map(0), ChunkedData.markerKey(old)).isDead)
        #expect(try await other.read(at: 0, length: MiB).bytes == live)
        // Nothing more to do for an hour's grace; a pass that stopped between a tombstone and its delete is finished.
        #expect(try await collect(grace: 3600) == OrphanExtents.Result(removed: 0, kept: 1, skipped: 1))
        try await data.writeExtent(old, Fixtures.data(8 * Int(chunk), seed: 6)[...])  // as if the delete had not happened
        #expect(try await collect(grace: 3600) == OrphanExtents.Result(removed: 1, kept: 1, skipped: 1))
        #expect(!Set(try await data.extentObjects()).contains(try data.extentName(old).object))
        try await data.deleteObject(try data.extentName(oldFar))  // what deleting the file would do

        // The young orphan goes with a grace it is older than; the live extent stays.
        #expect(try await collect(grace: -60) == OrphanExtents.Result(removed: 1, kept: 0, skipped: 0))
        try await auditExtents(other, regions: 0..<1)
        #expect(try await other.read(at: 0, length: MiB).bytes == live)

        // A writer condemned between its extent's put and its batch: the collector runs just before the batch.
        let rewrite = Fixtures.data(MiB, seed: 7)
        hooked.beforeApplying(where: { _, batch in batch.sets.keys.contains { $0.hasPrefix("x-") } }) {
            let result = try await collect(grace: -60)
            #expect(result.removed == 1, "the writer's fresh extent was condemned")
        }
        try await data.write(at: UInt64(MiB), rewrite)
        #expect(hooked.ran)
        #expect(try await other.read(at: 0, length: 2 * MiB).bytes == live + rewrite)
        #expect(try await auditExtents(other, regions: 0..<1) == 2)
        let markers = try await allRecords(two, try data.map(0)).filter { ChunkedData.markerID(ofKey: $0.key) != nil }
        #expect(try markers.filter { try data.marker($0.value, try data.map(0), $0.key).isDead }.count == 3, "three tombstones")

        // A clear over the tombstones leaves them; then everything goes with the data.
        try await data.clear(at: 0, length: 2 * UInt64(MiB))
        #expect(try await allRecords(two, try data.map(0)).count == 3)
        #expect(try await other.read(at: 0, length: 2 * MiB).bytes == fill(0, 2 * MiB))
        try await data.deleteAll(size: 3 << 30)
        #expect(try await data.extentObjects().isEmpty)
    }
}
