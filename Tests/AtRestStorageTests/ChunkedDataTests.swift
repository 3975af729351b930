import AtRestTesting
import AtRestCrypto
@testable import AtRestStorage
import Synchronization
import Testing

/// The owner of the objects these tests write: answers the engine's
/// questions about missing region maps (`ChunkedData.RegionMissing`) as a
/// disk's or a file's record would, and records them.
final class ChunkOwner: Sendable {
    private let state = Mutex<(exists: Bool, goneOnceCreated: Bool, asked: [ChunkedData.RegionMissing])>((true, false, []))

    /// Deleted: every question is answered `.notFound`.
    func delete() { state.withLock { $0.exists = false } }
    /// Deleted just after a write made a region map (a delete racing the write).
    func deleteOnceAMapIsMade() { state.withLock { $0.goneOnceCreated = true } }
    var asked: [ChunkedData.RegionMissing] { state.withLock { $0.asked } }

    func answer(_ missing: ChunkedData.RegionMissing) throws {
        let exists = state.withLock { state in
            state.asked.append(missing)
            if missing == .created && state.goneOnceCreated { state.exists = false }
            return state.exists
        }
        guard exists else { throw StorageError(.notFound, "the test object is gone") }
    }
}

/// An in-memory object the random test compares with: its bytes and the
/// chunks that hold a record, under the engine's rules (a write stores
/// every chunk it touches; a clear removes the chunks it covers whole, and
/// a partly cleared stored chunk once the clear made it all zeros).
struct ReferenceObject {
    var bytes: [UInt8]
    var stored: Set<UInt64> = []
    let chunk: UInt64

    init(size: Int, chunk: UInt64) {
        bytes = [UInt8](repeating: 0, count: size)
        self.chunk = chunk
    }

    func chunks(_ from: UInt64, _ to: UInt64) -> ClosedRange<UInt64> { from / chunk...(to - 1) / chunk }

    func chunkBytes(_ index: UInt64) -> ArraySlice<UInt8> { bytes[Int(index * chunk)..<Int((index + 1) * chunk)] }

    mutating func write(_ offset: UInt64, _ data: [UInt8]) {
        bytes.replaceSubrange(Int(offset)..<Int(offset) + data.count, with: data)
        for index in chunks(offset, offset + UInt64(data.count)) { stored.insert(index) }
    }

    mutating func clear(_ from: UInt64, _ to: UInt64) {
        guard from < to else { return }
        for index in chunks(from, to) {
            let start = index * chunk, before = chunkBytes(index)
            let lower = max(from, start), upper = min(to, start + chunk)
            bytes.replaceSubrange(Int(lower)..<Int(upper), with: [UInt8](repeating: 0, count: Int(upper - lower)))
            let whole = lower == start && upper == start + chunk
            if whole || (before != chunkBytes(index) && chunkBytes(index).allSatisfy { $0 == 0 }) { stored.remove(index) }
        }
    }

    /// A region map deleted: its chunks gone.
    mutating func drop(chunks range: Range<UInt64>) {
        for index in range where index * chunk < UInt64(bytes.count) {
            let upper = min(UInt64(bytes.count), (index + 1) * chunk)
            bytes.replaceSubrange(Int(index * chunk)..<Int(upper), with: [UInt8](repeating: 0, count: Int(upper - index * chunk)))
            stored.remove(index)
        }
    }

    func read(_ offset: UInt64, _ length: Int) -> [UInt8] { Array(bytes[Int(offset)..<Int(offset) + length]) }

    func ranges(_ offset: UInt64, _ length: UInt64) -> [Range<UInt64>] {
        var out: [Range<UInt64>] = []
        let end = offset + length
        for index in stored.sorted() {
            let from = max(index * chunk, offset), to = min((index + 1) * chunk, end)
            guard from < to else { continue }
            if let last = out.last, last.upperBound == from { out[out.count - 1] = last.lowerBound..<to } else { out.append(from..<to) }
        }
        return out
    }
}

/// The chunk engine in the file geometry (64 KiB chunks, `fc-` maps,
/// "file-chunk"), written once and run on every backend (two connections,
/// as two workers have): `ChunkedDataTests` on the local backend,
/// `RadosBackendTests` on RADOS. The disk geometry is what the DiskStore
/// suites test.
enum ChunkedDataContract {
    static let account = "acct"
    static let KiB: UInt64 = 1 << 10
    static let chunk: UInt64 = 65_536
    /// The file geometry with 4 chunks (256 KiB) per region map, to cross
    /// regions cheaply, and extents from 2 chunks on.
    static let small = ChunkedData.Geometry(chunkSize: chunk, chunksPerRegion: 4, mapPrefix: "fc", context: "file-chunk", extentChunks: 2)
    /// The same without extents: every chunk its own record.
    static let chunksOnly = ChunkedData.Geometry(chunkSize: chunk, chunksPerRegion: 4, mapPrefix: "fc", context: "file-chunk")

    static func object(_ backend: any StorageBackend, id: [UInt8], _ key: AccountKey, geometry: ChunkedData.Geometry = .file,
                       owner: ChunkOwner = ChunkOwner()) throws -> ChunkedData {
        ChunkedData(backend: backend, geometry: geometry, account: account, id: id, container: try key.accountContainer(account),
                    accountKey: key) { try owner.answer($0) }
    }

    static func newID() throws -> [UInt8] { try SecureRandom.bytes(16) }

    static func fill(_ byte: UInt8, _ count: Int) -> [UInt8] { [UInt8](repeating: byte, count: count) }

    static func expectError<T>(_ code: StorageError.Code, _ text: String? = nil, _ body: () async throws -> T,
                               sourceLocation: SourceLocation = #_sourceLocation) async {
        await BackendContract.expectError(code, text, body, sourceLocation: sourceLocation)
    }

    /// The sealed record of chunk `index`, its map and key.
    static func raw(_ data: ChunkedData, _ index: UInt64) async throws -> (map: RecordMapName, key: String, value: [UInt8]?) {
        let map = try data.map(index / data.geometry.chunksPerRegion), key = ChunkedData.chunkKey(index)
        let value = try? await data.backend.records(map, keys: [key])[key]
        return (map, key, value ?? nil)
    }

    /// Thousands of random byte-granular writes (1 B to 1 MiB at odd
    /// offsets), clears, reads, stored-range listings and region map
    /// deletions on a 3 MiB object whose regions are 256 KiB, against
    /// `ReferenceObject`; every change is read back (with a chunk either
    /// side) through the other connection, and at the end the whole object
    /// and its ranges are compared.
    static func randomOperations(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        let key = try Fixtures.accountKey(), id = try newID()
        let data = try object(one, id: id, key, geometry: small), other = try object(two, id: id, key, geometry: small)
        let size = 3 << 20
        var reference = ReferenceObject(size: size, chunk: chunk)
        var random = SplitMix(seed: 1018)
        var counts: [String: Int] = [:]

        /// A range at any byte offset within the object, mostly under three chunks long, sometimes up to 1 MiB.
        func range() -> (offset: UInt64, length: UInt64) {
            let longest = Int.random(in: 0..<15, using: &random) == 0 ? 1 << 20 : 3 * Int(chunk) + 777
            let length = UInt64(Int.random(in: 1...longest, using: &random))
            let offset = UInt64.random(in: 0...(UInt64(size) - length), using: &random)
            return (offset, length)
        }

        for step in 0..<3000 {
            let roll = Int.random(in: 0..<100, using: &random)
            let (offset, length) = range()
            switch roll {
            case 0..<50:
                let bytes = Fixtures.data(Int(length), seed: UInt8(truncatingIfNeeded: step))
                try await data.write(at: offset, bytes)
                reference.write(offset, bytes)
                counts["write", default: 0] += 1
                let from = offset >= chunk ? offset - chunk : 0, to = min(UInt64(size), offset + length + chunk)
                #expect(try await other.read(at: from, length: Int(to - from)).bytes == reference.read(from, Int(to - from)),
                        "step \(step): write [\(offset), +\(length))")
            case 50..<68:
                try await data.clear(at: offset, length: length)
                reference.clear(offset, offset + length)
                counts["clear", default: 0] += 1
                #expect(try await other.read(at: offset, length: Int(length)).bytes == fill(0, Int(length)), "step \(step): clear [\(offset), +\(length))")
            case 68..<86:
                #expect(try await other.read(at: offset, length: Int(length)).bytes == reference.read(offset, Int(length)), "step \(step): read")
                counts["read", default: 0] += 1
            case 86..<99:
                #expect(try await data.storedRanges(at: offset, length: length) == reference.ranges(offset, length), "step \(step): ranges")
                counts["ranges", default: 0] += 1
            default:
                let perRegion = small.chunksPerRegion
                let first = UInt64.random(in: 0..<12, using: &random), count = UInt64.random(in: 1...2, using: &random)
                try await other.deleteMaps(regions: first..<first + count)
                reference.drop(chunks: first * perRegion..<(first + count) * perRegion)
                counts["deleteMaps", default: 0] += 1
            }
        }
        #expect(counts.values.reduce(0, +) == 3000 && counts.count == 5, "\(counts)")
        var whole: [UInt8] = []
        for start in stride(from: 0, to: size, by: 1 << 20) { whole += try await other.read(at: UInt64(start), length: 1 << 20).bytes }
        #expect(whole == reference.bytes)
        #expect(try await other.storedRanges(at: 0, length: UInt64(size)) == reference.ranges(0, UInt64(size)))
        #expect(!reference.stored.isEmpty)
        // Extents were written, and none is dead or orphaned.
        #expect(try await auditExtents(other, regions: 0..<12) > 0)
        // Every stored chunk is a record of its region's map under the file geometry's names.
        for index in reference.stored {
            let raw = try await raw(other, index)
            #expect(raw.map.map == ("fc-\(Hex.encode(id))-\(Hex.fixedWidth(index / 4, digits: 4))") && raw.value != nil)
        }
        try await data.deleteAll(size: UInt64(size))
        #expect(try await other.storedRanges(at: 0, length: UInt64(size)) == [])
        #expect(try await other.extentObjects().isEmpty)
    }

    /// The real file geometry: sparse reads are zeros (up to 4 TiB), a
    /// missing map is reported to the owner before zeros are returned, a
    /// write across the 1 GiB region boundary lands in both maps, clears of
    /// part of a chunk keep the rest, and whole regions are deleted.
    static func sparseAndRegions(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        let key = try Fixtures.accountKey(), id = try newID(), owner = ChunkOwner()
        let data = try object(one, id: id, key, owner: owner), other = try object(two, id: id, key)
        let GiB: UInt64 = 1 << 30, TiB: UInt64 = 1 << 40
        #expect(ChunkedData.Geometry.file.regionSize == GiB && ChunkedData.Geometry.file.regions(4 * TiB) == 4096)
        #expect(try await data.read(at: 0, length: 100_000).bytes == fill(0, 100_000))
        #expect(owner.asked == [.reading])
        #expect(try await data.read(at: 4 * TiB - 70_001, length: 70_001).bytes == fill(0, 70_001))
        #expect(try await data.storedRanges(at: 0, length: 4 * TiB) == [])
        #expect(try await data.read(at: 5, length: 0).bytes == [])

        // 200 bytes across the first region boundary, at odd offsets.
        let bytes = Fixtures.data(200, seed: 3)
        try await data.write(at: GiB - 101, bytes)
        // Both regions' maps made, each after asking the owner (side by side: in any order).
        #expect(owner.asked.filter { $0 == .creating }.count == 2 && owner.asked.filter { $0 == .created }.count == 2)
        #expect(try await other.read(at: GiB - chunk, length: Int(2 * chunk)).bytes == fill(0, Int(chunk) - 101) + bytes + fill(0, Int(chunk) - 99))
        #expect(try await other.storedRanges(at: 0, length: 2 * GiB) == [GiB - chunk..<GiB + chunk])
        #expect(try await other.storedRanges(at: GiB - 50, length: 100) == [GiB - 50..<GiB + 50])
        let maps = try [data.map(0), data.map(1)]
        #expect(maps.map(\.description).allSatisfy { $0.contains("/fc-\(Hex.encode(id))-000") })
        for map in maps { #expect(try await one.recordKeys(map, after: nil, limit: 10).keys.count == 1) }
        #expect(try await one.recordKeys(maps[0], after: nil, limit: 10).keys == [ChunkedData.chunkKey(16_383)])

        // A partial clear keeps the rest of the chunk; clearing the rest removes the record.
        try await data.clear(at: GiB - 101, length: 50)
        #expect(try await other.read(at: GiB - 101, length: 200).bytes == fill(0, 50) + bytes[50...])
        try await data.clear(at: GiB - 51, length: 51)
        #expect(try await one.recordKeys(maps[0], after: nil, limit: 10).keys == [])
        #expect(try await other.storedRanges(at: 0, length: 2 * GiB) == [GiB..<GiB + chunk])

        // A clear covering region 1 whole deletes its map; the edges of regions 0 and 2 keep theirs.
        try await data.write(at: 3 * GiB + 7, fill(9, 9))
        try await data.write(at: GiB - 3, fill(8, 6))
        try await data.clear(at: GiB - 2, length: 2 * GiB + 8)
        await expectError(.notFound) { try await one.recordKeys(maps[1], after: nil, limit: 10) }
        #expect(try await other.read(at: GiB - 3, length: 6).bytes == [8] + fill(0, 5))
        #expect(try await other.read(at: 3 * GiB + 5, length: 12).bytes == fill(0, 2) + fill(9, 9) + [0])
        #expect(try await other.storedRanges(at: 0, length: 4 * GiB) == [GiB - chunk..<GiB, 3 * GiB..<3 * GiB + chunk])

        // Beyond what chunk keys address, or overflowing: refused.
        let end = ChunkedData.Geometry.file.addressableEnd
        #expect(end == 1 << 46)  // 16,384 chunks per region × 65,536 regions × 64 KiB
        await expectError(.invalidArgument, "beyond the largest object") { try await data.write(at: .max, [1]) }
        await expectError(.invalidArgument, "beyond the largest object") { try await data.read(at: end - 1, length: 2).bytes }
        await expectError(.invalidArgument, "0 bytes or more") { try await data.read(at: 0, length: -1).bytes }
        await expectError(.invalidArgument) { try await data.clear(at: 1, length: .max) }
        try await data.deleteAll(size: 4 * TiB)
        for region: UInt64 in [0, 1, 3] { await expectError(.notFound) { try await one.recordKeys(try data.map(region), after: nil, limit: 1) } }
    }

    /// Sixteen writers (on two connections) of disjoint, odd byte ranges of
    /// one 64 KiB chunk (each a read-modify-write): every write lands,
    /// round after round, on a new chunk and on one already written.
    static func concurrentWriters(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        let key = try Fixtures.accountKey(), id = try newID()
        let writers = [try object(one, id: id, key), try object(two, id: id, key)]
        var expected = [UInt64: [UInt8]]()
        for round in 0..<10 {
            let index = UInt64(round % 5) + 3, base = index * chunk
            var chunkBytes = expected[index] ?? fill(0, Int(chunk))
            // Writer w owns [w * 4096 + 3, w * 4096 + 3 + 4001 + w).
            let parts = (0..<16).map { w in (offset: w * 4096 + 3, bytes: Fixtures.data(4001 + w, seed: UInt8(round * 16 + w))) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (w, part) in parts.enumerated() {
                    group.addTask { try await writers[w % 2].write(at: base + UInt64(part.offset), part.bytes) }
                }
                try await group.waitForAll()
            }
            for part in parts { chunkBytes.replaceSubrange(part.offset..<part.offset + part.bytes.count, with: part.bytes) }
            expected[index] = chunkBytes
            #expect(try await writers[round % 2].read(at: base, length: Int(chunk)).bytes == chunkBytes, "round \(round)")
        }
        // A clear racing writes of other bytes of the same chunk: the writes land, the cleared bytes read as zeros.
        let base = 3 * chunk
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await writers[0].clear(at: base + 1, length: 999) }
            group.addTask { try await writers[1].write(at: base + 2000, fill(0x11, 10)) }
            group.addTask { try await writers[1].clear(at: base + 30_000, length: 5) }
            try await group.waitForAll()
        }
        var chunkBytes = try #require(expected[3])
        chunkBytes.replaceSubrange(1..<1000, with: fill(0, 999))
        chunkBytes.replaceSubrange(2000..<2010, with: fill(0x11, 10))
        chunkBytes.replaceSubrange(30_000..<30_005, with: fill(0, 5))
        #expect(try await writers[0].read(at: base, length: Int(chunk)).bytes == chunkBytes)
    }

    /// One 64 KiB chunk rewritten 2,000 times (whole, the same bytes every
    /// other time, and every fourth time a few odd bytes of it): the record
    /// read through the backend after each has a new salt, so a new key
    /// (docs/FORMAT.md "Disks (mutable objects)", "File data chunks").
    static func distinctSaltsPerWrite(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        let key = try Fixtures.accountKey(), id = try newID()
        let data = try object(one, id: id, key), reader = try object(two, id: id, key)
        var salts = Set<[UInt8]>(), expected = fill(0, Int(chunk))
        for write in 0..<2000 {
            if write % 4 == 3 {
                let at = (write * 37) % 60_000 + 1, bytes = Fixtures.data(99, seed: UInt8(truncatingIfNeeded: write))
                try await data.write(at: 2 * chunk + UInt64(at), bytes)
                expected.replaceSubrange(at..<at + 99, with: bytes)
            } else {
                expected = write % 2 == 0 ? fill(0x5A, Int(chunk)) : Fixtures.data(Int(chunk), seed: UInt8(truncatingIfNeeded: write))
                try await data.write(at: 2 * chunk, expected)
            }
            let raw = try #require(try await raw(reader, 2).value)
            try #require(raw.count == Int(chunk) + SealedRecord.overhead && raw[0] == SealedRecord.format)
            salts.insert(Array(raw[DiskStoreContract.saltRange]))
        }
        #expect(salts.count == 2000, "a salt repeated: \(2000 - salts.count) times")
        #expect(try await reader.read(at: 2 * chunk, length: Int(chunk)).bytes == expected)
    }

    /// A chunk record copied to another index (same region, another
    /// region), into another object (same account, same chunk key), or a
    /// disk's chunk into a file's map under the same id: `.integrityFailure`,
    /// never other bytes. Put back, every record reads again.
    static func tamperFailsClosed(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        let key = try Fixtures.accountKey(), id = try newID(), otherID = try newID()
        let data = try object(one, id: id, key, geometry: chunksOnly), reader = try object(two, id: id, key, geometry: chunksOnly)
        let second = try object(one, id: otherID, key, geometry: chunksOnly), secondReader = try object(two, id: otherID, key, geometry: chunksOnly)
        try await data.write(at: 0, fill(1, Int(2 * chunk)))
        try await data.write(at: 4 * chunk + 17, fill(4, 100))
        try await second.write(at: 0, fill(3, Int(chunk)))
        let first = try await raw(data, 0), original = try #require(first.value)

        func expectIntegrityFailure(_ object: ChunkedData, _ offset: UInt64, sourceLocation: SourceLocation = #_sourceLocation) async {
            await expectError(.integrityFailure, "does not authenticate", { try await object.read(at: offset, length: 10).bytes },
                              sourceLocation: sourceLocation)
        }

        // To another index of its region, and into another region (whose map exists).
        try await one.apply(RecordBatch(sets: [ChunkedData.chunkKey(2): original]), to: first.map)
        await expectIntegrityFailure(reader, 2 * chunk + 5)
        try await one.apply(RecordBatch(sets: [ChunkedData.chunkKey(5): original]), to: try data.map(1))
        await expectIntegrityFailure(reader, 5 * chunk)
        // A write of part of a chunk that does not open fails too, and changes nothing.
        await expectError(.integrityFailure) { try await reader.write(at: 5 * chunk + 1, [7]) }
        try await one.apply(RecordBatch(removes: [ChunkedData.chunkKey(2)]), to: first.map)
        try await one.apply(RecordBatch(removes: [ChunkedData.chunkKey(5)]), to: try data.map(1))

        // Into another object under the same key.
        let theirs = try await raw(second, 0)
        try await one.apply(RecordBatch(sets: [theirs.key: original]), to: theirs.map)
        await expectIntegrityFailure(secondReader, 0)
        try await one.apply(RecordBatch(sets: [first.key: try #require(theirs.value)]), to: first.map)
        await expectIntegrityFailure(reader, 0)
        try await one.apply(RecordBatch(sets: [first.key: original]), to: first.map)
        try await one.apply(RecordBatch(sets: [theirs.key: try #require(theirs.value)]), to: theirs.map)
        #expect(try await reader.read(at: 0, length: Int(chunk)).bytes == fill(1, Int(chunk)))
        #expect(try await secondReader.read(at: 0, length: Int(chunk)).bytes == fill(3, Int(chunk)))

        // Edited (salt, ciphertext, tag) or cut short.
        for position in [DiskStoreContract.saltRange.lowerBound, 1000, original.count - 1] {
            var edited = original
            edited[position] ^= 0x01
            try await one.apply(RecordBatch(sets: [first.key: edited]), to: first.map)
            await expectIntegrityFailure(reader, 0)
        }
        try await one.apply(RecordBatch(sets: [first.key: Array(original.prefix(original.count - 16))]), to: first.map)
        await expectError(.integrityFailure) { try await reader.read(at: 0, length: 1).bytes }
        try await one.apply(RecordBatch(sets: [first.key: original]), to: first.map)

        // A disk's chunk ("disk-chunk", `k-` map, 4 KiB) under the same id, put into the file's map.
        let disk = try object(one, id: id, key, geometry: .disk)
        try await disk.write(at: 0, fill(6, 4096))
        let diskChunk = try #require(try await raw(disk, 0).value)
        try await one.apply(RecordBatch(sets: [first.key: diskChunk]), to: first.map)
        await expectIntegrityFailure(reader, 0)
        try await one.apply(RecordBatch(sets: [first.key: original]), to: first.map)
        #expect(try await reader.read(at: 0, length: Int(2 * chunk)).bytes == fill(1, Int(2 * chunk)))
        #expect(try await reader.read(at: 4 * chunk, length: 200).bytes == fill(0, 17) + fill(4, 100) + fill(0, 83))
    }

    /// A write into a missing region map asks the owner before making the
    /// map and again once it is made: an owner gone before leaves no map
    /// (`.notFound`); one deleted while the map was made (a racing delete)
    /// has the map deleted again. Clears of missing maps make none.
    static func missingRegionsAskTheOwner(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        let key = try Fixtures.accountKey()
        let gone = ChunkOwner(), goneData = try object(one, id: try newID(), key, owner: gone)
        gone.delete()
        await expectError(.notFound, "the test object is gone") { try await goneData.write(at: 10, [1, 2, 3]) }
        await expectError(.notFound) { try await goneData.read(at: 0, length: 1).bytes }
        await expectError(.notFound) { try await goneData.storedRanges(at: 0, length: 1) }
        await expectError(.notFound) { try await one.recordKeys(try goneData.map(0), after: nil, limit: 1) }
        #expect(gone.asked == [.creating, .reading, .reading])

        let racing = ChunkOwner(), racingData = try object(one, id: try newID(), key, owner: racing)
        racing.deleteOnceAMapIsMade()
        await expectError(.notFound, "the test object is gone") { try await racingData.write(at: 0, fill(1, 100)) }
        #expect(racing.asked == [.creating, .created])
        await expectError(.notFound) { try await two.recordKeys(try racingData.map(0), after: nil, limit: 1) }

        let owner = ChunkOwner(), id = try newID(), data = try object(one, id: id, key, owner: owner)
        try await data.clear(at: 3, length: 5 * chunk)
        try await data.clear(at: 3, length: 5)
        #expect(owner.asked == [])
        await expectError(.notFound) { try await two.recordKeys(try data.map(0), after: nil, limit: 1) }
        try await data.write(at: 3, [1])
        try await data.write(at: 4, [2])
        #expect(owner.asked == [.creating, .created])
        #expect(try await object(two, id: id, key).read(at: 0, length: 6).bytes == [0, 0, 0, 1, 2, 0])
    }

    /// Recovery lists every stored chunk by offset, each opened on its
    /// own: a damaged record, a key that is no chunk of its region and a
    /// chunk beyond the end are reported, the rest still reads.
    static func recovery(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        let key = try Fixtures.accountKey(), id = try newID()
        let data = try object(one, id: id, key, geometry: small)
        try await data.write(at: chunk - 1, [1, 2])
        try await data.write(at: 9 * chunk, fill(5, 10))
        var broken = try #require(try await raw(data, 9).value)
        broken[40] ^= 1
        try await one.apply(RecordBatch(sets: [ChunkedData.chunkKey(9): broken, "zz": [1]]), to: try data.map(2))
        var chunks: [UInt64] = [], damaged: [String: String] = [:]
        try await object(two, id: id, key, geometry: small).recover(size: 9 * chunk, "file") { recovered in
            switch recovered {
            case .chunk(let offset, let bytes):
                chunks.append(offset)
                #expect(bytes.count == Int(chunk))
            case .damaged(let key, let error): damaged[key] = QueueStore.reason(error)
            }
        }
        #expect(chunks == [0, chunk])
        #expect(damaged.keys.sorted() == ["0002/0000000009", "0002/zz"])
        #expect(damaged["0002/0000000009"]?.contains("beyond the file's end") == true)
        #expect(damaged["0002/zz"]?.contains("not a chunk of this region") == true)
        chunks = []
        damaged = [:]
        try await object(two, id: id, key, geometry: small).recover(size: 10 * chunk, "file") { recovered in
            if case .chunk(let offset, _) = recovered { chunks.append(offset) } else if case .damaged(let key, _) = recovered { damaged[key] = key }
        }
        #expect(chunks == [0, chunk] && damaged.keys.sorted() == ["0002/0000000009", "0002/zz"])
    }
}

/// The file geometry on the local backend (`RadosBackendTests` runs the same bodies on RADOS).
@Suite struct ChunkedDataTests {
    static let bodies: [(String, @Sendable (any StorageBackend, any StorageBackend) async throws -> Void)] = [
        ("randomOperations", ChunkedDataContract.randomOperations),
        ("sparseAndRegions", ChunkedDataContract.sparseAndRegions),
        ("concurrentWriters", ChunkedDataContract.concurrentWriters),
        ("distinctSaltsPerWrite", ChunkedDataContract.distinctSaltsPerWrite),
        ("tamperFailsClosed", ChunkedDataContract.tamperFailsClosed),
        ("missingRegionsAskTheOwner", ChunkedDataContract.missingRegionsAskTheOwner),
        ("recovery", ChunkedDataContract.recovery),
        ("extentsOfLargeWrites", ChunkedDataContract.extentsOfLargeWrites),
        ("extentsTamperFailsClosed", ChunkedDataContract.extentsTamperFailsClosed),
        ("extentsMostlyRewrittenMoveOut", ChunkedDataContract.extentsMostlyRewrittenMoveOut),
        ("orphanExtentsCollected", ChunkedDataContract.orphanExtentsCollected),
    ]

    @Test(arguments: bodies.map(\.0))
    func contract(_ body: String) async throws {
        try await RecordMapFactory.local.run(body, of: Self.bodies)
    }

    /// The disk geometry is the disk format (docs/FORMAT.md "Disks"); the
    /// file geometry the one of "File data chunks".
    @Test func geometries() {
        let disk = ChunkedData.Geometry.disk, file = ChunkedData.Geometry.file
        #expect(disk == ChunkedData.Geometry(chunkSize: 4096, chunksPerRegion: 262_144, mapPrefix: "k", context: "disk-chunk", extentChunks: 64))
        #expect(file == ChunkedData.Geometry(chunkSize: 65_536, chunksPerRegion: 16_384, mapPrefix: "fc", context: "file-chunk", extentChunks: 4))
        #expect(disk.regionSize == 1 << 30 && file.regionSize == 1 << 30)
        #expect(file.regions(0) == 0 && file.regions(1) == 1 && file.regions(1 << 30) == 1 && file.regions((1 << 30) + 1) == 2)
    }

    /// File contents never reach the data directory's files in clear.
    @Test func nothingInClearOnDisk() async throws {
        let key = try Fixtures.accountKey()
        let dir = TempDirectory()
        defer { dir.remove() }
        let data = try ChunkedDataContract.object(try LocalBackend(directory: dir.path), id: try ChunkedDataContract.newID(), key)
        let marker = "file-contents-okapi-5531"
        let content = Array(String(repeating: marker + " ", count: 10_000).utf8)
        try await data.write(at: 12_345, content)
        try await data.write(at: (1 << 30) - 1000, Array(content.prefix(5000)))
        try await data.clear(at: 20_000, length: 1000)
        let files = dir.allFiles()
        #expect(files.count >= 2)
        for file in files { #expect(!dir.contents(file).contains(subsequence: Array(marker.utf8)), "\(file) contains the marker") }
    }
}
