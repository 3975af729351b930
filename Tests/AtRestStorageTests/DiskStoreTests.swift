import AtRestCrypto
@testable import AtRestStorage
import Testing

/// The disk engine over the record map interface, written once and run on
/// every backend (two connections, as two workers have):
/// `DiskStoreTests` on the local backend, `RadosBackendTests` on RADOS.
enum DiskStoreContract {
    static let account = "acct"
    static let MiB: UInt64 = 1 << 20
    static let GiB: UInt64 = 1 << 30

    static func expectError<T>(_ code: StorageError.Code, _ text: String? = nil, _ body: () async throws -> T,
                               sourceLocation: SourceLocation = #_sourceLocation) async {
        await BackendContract.expectError(code, text, body, sourceLocation: sourceLocation)
    }

    /// `count` bytes of `byte`.
    static func fill(_ byte: UInt8, _ count: Int) -> [UInt8] { [UInt8](repeating: byte, count: count) }

    /// Create, list (prefix, pages), properties, metadata, resize, delete,
    /// create again, and the errors of bad names, sizes, metadata and ranges.
    static func disks(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        let key = try Fixtures.accountKey()
        let clock = TestClock()
        let a = DiskStore(backend: one, clock: clock.read), b = DiskStore(backend: two, clock: clock.read)
        #expect(try await a.listDisks(account: account, accountKey: key) == DiskListing(disks: [], continuation: nil))
        for (index, name) in ["vm-root", "vm-data", "boot", "zz9"].enumerated() {
            let info = try await (index % 2 == 0 ? a : b).createDisk(account: account, name: name, size: UInt64(index + 1) * MiB,
                                                                    metadata: ["owner": name], accountKey: key)
            #expect(info == DiskInfo(name: name, size: UInt64(index + 1) * MiB, creationTime: clock.read(), metadata: ["owner": name]))
        }
        await expectError(.alreadyExists, "disk 'boot' already exists") { try await b.createDisk(account: account, name: "boot", size: 512, accountKey: key) }
        for bad in ["ab", "Boot", "-boot", "boot-", "bo--ot", String(repeating: "a", count: 64), "bööt", "bo_ot"] {
            await expectError(.invalidArgument, "disk name") { try await a.createDisk(account: account, name: bad, size: 512, accountKey: key) }
            await expectError(.invalidArgument, "disk name") { try await a.readPages(account: account, name: bad, offset: 0, length: 1, accountKey: key) }
        }
        for bad: UInt64 in [0, 1, 511, 513, 4096 + 1, DiskLimits.maxSize + 512, .max] {
            await expectError(.invalidArgument, "disk size") { try await a.createDisk(account: account, name: "sized", size: bad, accountKey: key) }
        }
        await expectError(.invalidArgument, "disk metadata key") {
            try await a.createDisk(account: account, name: "meta", size: 512, metadata: ["bad key": "x"], accountKey: key)
        }
        await expectError(.invalidArgument, "disk metadata is") {
            try await a.createDisk(account: account, name: "meta", size: 512, metadata: ["big": String(repeating: "x", count: 9000)], accountKey: key)
        }
        // The largest disk is fine, and costs nothing until written.
        try await a.createDisk(account: account, name: "huge", size: DiskLimits.maxSize, accountKey: key)
        let huge = try await b.properties(account: account, name: "huge", accountKey: key)
        #expect(huge.size == 4 << 40 && huge.metadata == [:])

        let all = try await b.listDisks(account: account, accountKey: key)
        #expect(all.disks.map(\.name) == ["boot", "huge", "vm-data", "vm-root", "zz9"] && all.continuation == nil)
        #expect(all.disks.map(\.size) == [3 * MiB, DiskLimits.maxSize, 2 * MiB, MiB, 4 * MiB])
        let first = try await a.listDisks(account: account, limit: 2, accountKey: key)
        #expect(first.disks.map(\.name) == ["boot", "huge"] && first.continuation == "huge")
        let second = try await a.listDisks(account: account, continuation: first.continuation, limit: 2, accountKey: key)
        #expect(second.disks.map(\.name) == ["vm-data", "vm-root"] && second.continuation == "vm-root")
        #expect(try await a.listDisks(account: account, prefix: "vm-", accountKey: key).disks.map(\.name) == ["vm-data", "vm-root"])
        await expectError(.invalidArgument, "1-1000 disks") { try await a.listDisks(account: account, limit: 0, accountKey: key) }
        // Another account sees none of them; another account key (version) cannot read them.
        #expect(try await a.listDisks(account: "other", accountKey: key).disks == [])
        await expectError(.notFound, "disk 'boot' does not exist in account 'other'") { try await a.properties(account: "other", name: "boot", accountKey: key) }
        let otherKey = try Fixtures.accountKey(KeyReference(provider: "managed", keyID: "kek-1", keyVersion: 2, accountKeyVersion: 1))
        #expect(try await a.listDisks(account: account, accountKey: otherKey).disks == [])
        await expectError(.notFound) { try await a.writePages(account: account, name: "boot", offset: 0, data: fill(1, 512), accountKey: otherKey) }

        // Metadata.
        let changed = try await a.setMetadata(account: account, name: "boot", metadata: ["tier": "gold", "owner": "ops"], accountKey: key)
        #expect(changed.metadata == ["tier": "gold", "owner": "ops"] && changed.size == 3 * MiB)
        #expect(try await b.properties(account: account, name: "boot", accountKey: key) == changed)
        await expectError(.invalidArgument, "disk metadata key") {
            try await b.setMetadata(account: account, name: "boot", metadata: ["9lives": "x"], accountKey: key)
        }
        await expectError(.notFound, "disk 'nope' does not exist") { try await b.setMetadata(account: account, name: "nope", metadata: [:], accountKey: key) }

        // Ranges and sizes of data calls.
        await expectError(.invalidArgument, "multiples of 512") { try await a.writePages(account: account, name: "boot", offset: 100, data: fill(1, 512), accountKey: key) }
        await expectError(.invalidArgument, "multiples of 512") { try await a.writePages(account: account, name: "boot", offset: 0, data: fill(1, 100), accountKey: key) }
        await expectError(.invalidArgument, "1 byte to 4 MiB") { try await a.writePages(account: account, name: "boot", offset: 0, data: [], accountKey: key) }
        await expectError(.invalidArgument, "1 byte to 4 MiB") {
            try await a.writePages(account: account, name: "huge", offset: 0, data: fill(1, (4 << 20) + 512), accountKey: key)
        }
        await expectError(.invalidArgument, "beyond the disk's end") {
            try await a.writePages(account: account, name: "boot", offset: 3 * MiB - 512, data: fill(1, 1024), accountKey: key)
        }
        await expectError(.invalidArgument, "beyond the disk's end") {
            try await a.writePages(account: account, name: "boot", offset: .max - 511, data: fill(1, 512), accountKey: key)
        }
        await expectError(.invalidArgument, "beyond the disk's end") { try await b.readPages(account: account, name: "boot", offset: 3 * MiB, length: 1, accountKey: key) }
        await expectError(.invalidArgument, "1 byte to 4 MiB") { try await b.readPages(account: account, name: "boot", offset: 0, length: 0, accountKey: key) }
        await expectError(.invalidArgument, "multiples of 512") { try await b.clearPages(account: account, name: "boot", offset: 0, length: 100, accountKey: key) }
        await expectError(.invalidArgument, "at least one page") { try await b.clearPages(account: account, name: "boot", offset: 0, length: 0, accountKey: key) }
        await expectError(.invalidArgument, "beyond the disk's end") {
            try await b.pageRanges(account: account, name: "boot", offset: MiB, length: 3 * MiB, accountKey: key)
        }
        await expectError(.notFound, "disk 'nope' does not exist") { try await a.writePages(account: account, name: "nope", offset: 0, data: fill(1, 512), accountKey: key) }
        await expectError(.notFound, "disk 'nope' does not exist") { try await a.readPages(account: account, name: "nope", offset: 0, length: 1, accountKey: key) }

        // A fresh disk reads as zeros and has no ranges; reads need no alignment.
        #expect(try await a.readPages(account: account, name: "boot", offset: 7, length: 10_000, accountKey: key) == fill(0, 10_000))
        #expect(try await a.readPages(account: account, name: "huge", offset: DiskLimits.maxSize - 4 * MiB, length: 4 << 20, accountKey: key) == fill(0, 4 << 20))
        #expect(try await b.pageRanges(account: account, name: "boot", offset: 0, length: 3 * MiB, accountKey: key) == [])
        try await a.writePages(account: account, name: "boot", offset: 1024, data: fill(7, 1024), accountKey: key)
        #expect(try await b.readPages(account: account, name: "boot", offset: 1000, length: 2100, accountKey: key) == fill(0, 24) + fill(7, 1024) + fill(0, 1052))
        #expect(try await b.pageRanges(account: account, name: "boot", offset: 0, length: 3 * MiB, accountKey: key) == [PageRange(offset: 0, length: 4096)])
        #expect(try await b.pageRanges(account: account, name: "boot", offset: 2048, length: 1024, accountKey: key) == [PageRange(offset: 2048, length: 1024)])

        // The far end of the largest disk, across its last region's boundary.
        try await b.writePages(account: account, name: "huge", offset: DiskLimits.maxSize - GiB - 2048, data: fill(9, 8192), accountKey: key)
        #expect(try await a.readPages(account: account, name: "huge", offset: DiskLimits.maxSize - GiB - 4096, length: 16_384, accountKey: key)
                == fill(0, 2048) + fill(9, 8192) + fill(0, 6144))
        #expect(try await a.pageRanges(account: account, name: "huge", offset: 0, length: DiskLimits.maxSize, accountKey: key)
                == [PageRange(offset: DiskLimits.maxSize - GiB - 4096, length: 12_288)])
        // Clearing all 4 TiB (whole regions deleted, the edges of none), shrinking and growing it back.
        try await a.clearPages(account: account, name: "huge", offset: 0, length: DiskLimits.maxSize, accountKey: key)
        #expect(try await b.pageRanges(account: account, name: "huge", offset: 0, length: DiskLimits.maxSize, accountKey: key) == [])
        try await b.writePages(account: account, name: "huge", offset: DiskLimits.maxSize - 4096, data: fill(8, 4096), accountKey: key)
        try await b.clearPages(account: account, name: "huge", offset: 512, length: DiskLimits.maxSize - 1024, accountKey: key)
        #expect(try await a.readPages(account: account, name: "huge", offset: DiskLimits.maxSize - 4096, length: 4096, accountKey: key)
                == fill(0, 3584) + fill(8, 512))
        try await a.resize(account: account, name: "huge", size: 512, accountKey: key)
        try await a.resize(account: account, name: "huge", size: DiskLimits.maxSize, accountKey: key)
        #expect(try await b.pageRanges(account: account, name: "huge", offset: 0, length: DiskLimits.maxSize, accountKey: key) == [])

        // Resize: shrink drops what lay beyond (whole regions and the boundary chunk's tail), grow adds zeros.
        try await a.createDisk(account: account, name: "grows", size: 3 * GiB, accountKey: key)
        for offset in [0, GiB - 4096, GiB + 512, 2 * GiB + 4 * MiB, 3 * GiB - 512] {
            try await b.writePages(account: account, name: "grows", offset: offset, data: fill(5, 512), accountKey: key)
        }
        let shrunk = try await b.resize(account: account, name: "grows", size: GiB + 1024, accountKey: key)
        #expect(shrunk.size == GiB + 1024 && shrunk.metadata == [:])
        #expect(try await a.properties(account: account, name: "grows", accountKey: key).size == GiB + 1024)
        await expectError(.invalidArgument, "beyond the disk's end") {
            try await a.writePages(account: account, name: "grows", offset: GiB + 1024, data: fill(1, 512), accountKey: key)
        }
        try await a.resize(account: account, name: "grows", size: 3 * GiB + 4096, accountKey: key)
        #expect(try await b.readPages(account: account, name: "grows", offset: GiB, length: 4096, accountKey: key) == fill(0, 512) + fill(5, 512) + fill(0, 3072))
        for offset in [2 * GiB + 4 * MiB, 3 * GiB - 512] {
            #expect(try await b.readPages(account: account, name: "grows", offset: offset, length: 512, accountKey: key) == fill(0, 512))
        }
        #expect(try await a.pageRanges(account: account, name: "grows", offset: 0, length: 3 * GiB + 4096, accountKey: key)
                == [PageRange(offset: 0, length: 4096), PageRange(offset: GiB - 4096, length: 8192)])
        await expectError(.invalidArgument, "disk size") { try await a.resize(account: account, name: "grows", size: 1000, accountKey: key) }
        await expectError(.notFound) { try await a.resize(account: account, name: "nope", size: 512, accountKey: key) }

        // Delete: every verb says the disk is gone; created again, it is new and empty.
        try await b.deleteDisk(account: account, name: "grows", accountKey: key)
        await expectError(.notFound, "disk 'grows' does not exist in account 'acct'") { try await a.deleteDisk(account: account, name: "grows", accountKey: key) }
        await expectError(.notFound) { try await a.properties(account: account, name: "grows", accountKey: key) }
        await expectError(.notFound) { try await a.readPages(account: account, name: "grows", offset: 0, length: 512, accountKey: key) }
        await expectError(.notFound) { try await a.writePages(account: account, name: "grows", offset: 0, data: fill(1, 512), accountKey: key) }
        await expectError(.notFound) { try await a.clearPages(account: account, name: "grows", offset: 0, length: 512, accountKey: key) }
        await expectError(.notFound) { try await a.pageRanges(account: account, name: "grows", offset: 0, length: 512, accountKey: key) }
        try await a.createDisk(account: account, name: "grows", size: GiB, accountKey: key)
        #expect(try await b.readPages(account: account, name: "grows", offset: 0, length: 4096, accountKey: key) == fill(0, 4096))
        #expect(try await b.pageRanges(account: account, name: "grows", offset: 0, length: GiB, accountKey: key) == [])
        #expect(try await a.listDisks(account: account, accountKey: key).disks.map(\.name) == ["boot", "grows", "huge", "vm-data", "vm-root", "zz9"])
    }

    /// A store remembers disks it used (`DiskStore.disks`): after another store
    /// deletes, re-creates or resizes the disk, the first store's calls
    /// reach the disk as it is now (its written regions were deleted, the
    /// disk was read again before zeros were returned or a region created).
    static func remembersDisksUntilTheyChange(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        let key = try Fixtures.accountKey()
        let a = DiskStore(backend: one), b = DiskStore(backend: two)
        try await a.createDisk(account: account, name: "vmdisk", size: 2 * GiB, accountKey: key)
        try await a.writePages(account: account, name: "vmdisk", offset: 0, data: fill(1, 4096), accountKey: key)
        #expect(try await a.readPages(account: account, name: "vmdisk", offset: GiB, length: 512, accountKey: key) == fill(0, 512))

        try await b.deleteDisk(account: account, name: "vmdisk", accountKey: key)
        await expectError(.notFound, "disk 'vmdisk' does not exist") { try await a.readPages(account: account, name: "vmdisk", offset: 0, length: 512, accountKey: key) }
        try await b.createDisk(account: account, name: "vmdisk", size: 2 * GiB, accountKey: key)
        try await b.writePages(account: account, name: "vmdisk", offset: GiB, data: fill(2, 4096), accountKey: key)
        // a read the disk again above: make it remember the new one, then replace it once more.
        #expect(try await a.readPages(account: account, name: "vmdisk", offset: GiB, length: 512, accountKey: key) == fill(2, 512))
        try await b.deleteDisk(account: account, name: "vmdisk", accountKey: key)
        try await b.createDisk(account: account, name: "vmdisk", size: 2 * GiB, accountKey: key)
        // A write on the remembered (deleted) disk goes to the new one, whose region is made now.
        try await a.writePages(account: account, name: "vmdisk", offset: GiB, data: fill(3, 4096), accountKey: key)
        #expect(try await b.readPages(account: account, name: "vmdisk", offset: GiB, length: 4096, accountKey: key) == fill(3, 4096))
        #expect(try await b.pageRanges(account: account, name: "vmdisk", offset: 0, length: 2 * GiB, accountKey: key) == [PageRange(offset: GiB, length: 4096)])
        // Grown by b: a writes beyond the size it remembers.
        try await b.resize(account: account, name: "vmdisk", size: 3 * GiB, accountKey: key)
        try await a.writePages(account: account, name: "vmdisk", offset: 3 * GiB - 4096, data: fill(4, 4096), accountKey: key)
        #expect(try await b.readPages(account: account, name: "vmdisk", offset: 3 * GiB - 4096, length: 4096, accountKey: key) == fill(4, 4096))
        // Deleted by b: a's write does not make a region of the deleted disk.
        try await b.deleteDisk(account: account, name: "vmdisk", accountKey: key)
        await expectError(.notFound, "disk 'vmdisk' does not exist") {
            try await a.writePages(account: account, name: "vmdisk", offset: 2 * GiB, data: fill(5, 512), accountKey: key)
        }
    }
}

/// The disk engine on the local backend (`RadosBackendTests` runs the same bodies on RADOS).
@Suite struct DiskStoreTests {
    static let bodies: [(String, @Sendable (any StorageBackend, any StorageBackend) async throws -> Void)] = [
        ("disks", DiskStoreContract.disks),
        ("remembersDisksUntilTheyChange", DiskStoreContract.remembersDisksUntilTheyChange),
        ("randomOperations", DiskStoreContract.randomOperations),
        ("concurrentWriters", DiskStoreContract.concurrentWriters),
        ("writesOfRanges", DiskStoreContract.writesOfRanges),
        ("distinctSaltsPerWrite", DiskStoreContract.distinctSaltsPerWrite),
        ("tamperFailsClosed", DiskStoreContract.tamperFailsClosed),
        ("rollbackIsNotDetected", DiskStoreContract.rollbackIsNotDetected),
    ]

    @Test(arguments: bodies.map(\.0))
    func contract(_ body: String) async throws {
        try await RecordMapFactory.local.run(body, of: Self.bodies)
    }
}

extension DiskStoreTests {
    /// Chunk keys are 10 hex digits whose byte order is their numeric order
    /// (`recordKeys` pages in that order), and parse back.
    @Test func chunkKeysSortNumerically() {
        let indexes: [UInt64] = [0, 1, 9, 10, 15, 16, 255, 256, 262_143, 262_144, 1 << 30 - 1, 1 << 36, 1 << 40 - 1]
        let keys = indexes.map(DiskStore.chunkKey)
        #expect(keys.first == "0000000000" && keys.last == "ffffffffff" && keys[3] == "000000000a")
        #expect(keys == keys.sorted() && Set(keys).count == keys.count)
        #expect(keys.map(DiskStore.chunkIndex(ofKey:)) == indexes)
        #expect(DiskStore.chunkIndex(ofKey: "00000000001") == nil && DiskStore.chunkIndex(ofKey: "zzzzzzzzzz") == nil)
        #expect(Hex.fixedWidth(0xabc, digits: 2) == "bc" && Hex.fixedWidth(.max, digits: 20) == "0000ffffffffffffffff")
    }
}
