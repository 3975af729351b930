@testable import AtRestStorage
import Testing

extension DiskStoreContract {
    /// The raw (sealed) record of chunk `chunk` of disk `name`, its map and key.
    static func rawChunk(_ store: DiskStore, _ name: String, _ chunk: UInt64, _ key: AccountKey) async throws -> (map: RecordMapName, key: String, value: [UInt8]?) {
        let disk = try await store.lookUp(account, name, key)
        let map = try store.region(disk, chunk / DiskLimits.chunksPerRegion), chunkKey = DiskStore.chunkKey(chunk)
        let value = try? await store.backend.records(map, keys: [chunkKey])[chunkKey]
        return (map, chunkKey, value ?? nil)
    }

    /// Where a `SealedRecord` keeps its salt: after u8 format ‖ u32 account key version ‖ 16 key check value.
    static let saltRange = 21..<37

    /// One 4 KiB chunk rewritten 10,000 times (whole, and every fourth time
    /// one 512-byte page of it, a read-modify-write), half of the whole
    /// rewrites with the same bytes: the stored record, read through the
    /// backend after every write, has a new salt each time. A chunk's
    /// AES-256-GCM key is HKDF-SHA256(account key, salt, "atrest/v1" ‖ 0x00
    /// ‖ context) and its nonce is fixed (12 zero bytes, never stored), so
    /// distinct salts mean a distinct key for every seal: no (key, nonce)
    /// pair encrypts two plaintexts (docs/FORMAT.md "Disks (mutable
    /// objects)"). The ciphertexts differ too, also for equal plaintexts.
    static func distinctSaltsPerWrite(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        let key = try Fixtures.accountKey()
        let store = DiskStore(backend: one), reader = DiskStore(backend: two)
        try await store.createDisk(account: account, name: "salty", size: MiB, accountKey: key)
        var salts = Set<[UInt8]>(), ciphertexts = Set<[UInt8]>()
        var expected = fill(0, 4096)
        for write in 0..<10_000 {
            if write % 4 == 3 {
                let page = write % 8, bytes = Fixtures.data(512, seed: UInt8(truncatingIfNeeded: write))
                try await store.writePages(account: account, name: "salty", offset: 3 * 4096 + UInt64(page) * 512, data: bytes, accountKey: key)
                expected.replaceSubrange(page * 512..<(page + 1) * 512, with: bytes)
            } else {
                expected = write % 2 == 0 ? fill(0x5A, 4096) : Fixtures.data(4096, seed: UInt8(truncatingIfNeeded: write))
                try await store.writePages(account: account, name: "salty", offset: 3 * 4096, data: expected, accountKey: key)
            }
            let raw = try #require(try await rawChunk(reader, "salty", 3, key).value)
            try #require(raw.count == 4096 + SealedRecord.overhead && raw[0] == SealedRecord.format)
            salts.insert(Array(raw[saltRange]))
            ciphertexts.insert(Array(raw[saltRange.upperBound...]))
        }
        #expect(salts.count == 10_000, "a salt repeated: \(10_000 - salts.count) times")
        #expect(ciphertexts.count == 10_000)
        #expect(try await reader.readPages(account: account, name: "salty", offset: 3 * 4096, length: 4096, accountKey: key) == expected)
    }

    /// A chunk record copied to another index (in its region and in
    /// another), swapped between two disks, replayed into a disk deleted
    /// and created again under the same name, edited (salt, ciphertext,
    /// tag) or cut short: `.integrityFailure`, never other bytes. A disk's
    /// directory record moved to another disk's name too. Put back, every
    /// record reads again (the tampering was what failed).
    static func tamperFailsClosed(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        let key = try Fixtures.accountKey()
        let store = DiskStore(backend: one), other = DiskStore(backend: two)
        for name in ["left", "right"] { try await store.createDisk(account: account, name: name, size: 2 * GiB, accountKey: key) }
        let boundary = GiB / 4096
        try await store.writePages(account: account, name: "left", offset: 0, data: fill(1, 8192), accountKey: key)
        try await store.writePages(account: account, name: "left", offset: GiB, data: fill(4, 4096), accountKey: key)
        try await store.writePages(account: account, name: "right", offset: 0, data: fill(3, 4096), accountKey: key)
        let left0 = try await rawChunk(store, "left", 0, key), right0 = try await rawChunk(store, "right", 0, key)
        let leftG = try await rawChunk(store, "left", boundary, key)
        let original0 = try #require(left0.value), originalR = try #require(right0.value)

        func expectIntegrityFailure(_ name: String, _ offset: UInt64, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) async {
            await expectError(.integrityFailure, "does not authenticate", {
                try await other.readPages(account: account, name: name, offset: offset, length: 512, accountKey: key)
            }, sourceLocation: sourceLocation)
        }

        // Moved to another index of the same region, and into another region.
        try await one.apply(RecordBatch(sets: [DiskStore.chunkKey(5): original0]), to: left0.map)
        await expectIntegrityFailure("left", 5 * 4096, "moved to chunk 5")
        try await one.apply(RecordBatch(sets: [DiskStore.chunkKey(boundary + 1): original0]), to: leftG.map)
        await expectIntegrityFailure("left", GiB + 4096, "moved to another region")
        // The pages of a chunk that reads fail with it, also within a larger read and a write of part of it.
        await expectError(.integrityFailure) { try await other.readPages(account: account, name: "left", offset: 0, length: 8 * 4096, accountKey: key) }
        await expectError(.integrityFailure) {
            try await other.writePages(account: account, name: "left", offset: 5 * 4096 + 512, data: fill(9, 512), accountKey: key)
        }

        // Swapped between two disks (same key, each other's region map).
        try await one.apply(RecordBatch(sets: [left0.key: originalR]), to: left0.map)
        try await one.apply(RecordBatch(sets: [right0.key: original0]), to: right0.map)
        await expectIntegrityFailure("left", 0, "right's chunk in left")
        await expectIntegrityFailure("right", 0, "left's chunk in right")
        try await one.apply(RecordBatch(sets: [left0.key: original0]), to: left0.map)
        try await one.apply(RecordBatch(sets: [right0.key: originalR]), to: right0.map)
        #expect(try await other.readPages(account: account, name: "left", offset: 0, length: 4096, accountKey: key) == fill(1, 4096))
        #expect(try await other.readPages(account: account, name: "right", offset: 0, length: 4096, accountKey: key) == fill(3, 4096))

        // Edited anywhere past the header: salt, ciphertext, tag; or cut short.
        for position in [saltRange.lowerBound, saltRange.upperBound + 100, original0.count - 1] {
            var edited = original0
            edited[position] ^= 0x01
            try await one.apply(RecordBatch(sets: [left0.key: edited]), to: left0.map)
            await expectIntegrityFailure("left", 0, "byte \(position) flipped")
        }
        try await one.apply(RecordBatch(sets: [left0.key: Array(original0.prefix(original0.count - 16))]), to: left0.map)
        await expectError(.integrityFailure) { try await other.readPages(account: account, name: "left", offset: 0, length: 512, accountKey: key) }
        try await one.apply(RecordBatch(sets: [left0.key: original0]), to: left0.map)
        #expect(try await other.readPages(account: account, name: "left", offset: 0, length: 8192, accountKey: key) == fill(1, 8192))

        // A directory record under another disk's name.
        let directory = try store.directory(account, key)
        let leftKey = try store.directoryKey(account, "left", key), rightKey = try store.directoryKey(account, "right", key)
        let records = try await one.records(directory, keys: [leftKey, rightKey])
        try await one.apply(RecordBatch(sets: [rightKey: try #require(records[leftKey])]), to: directory)
        await expectError(.integrityFailure) { try await other.properties(account: account, name: "right", accountKey: key) }
        try await one.apply(RecordBatch(sets: [rightKey: try #require(records[rightKey])]), to: directory)
        #expect(try await other.properties(account: account, name: "right", accountKey: key).size == 2 * GiB)

        // Replayed into "left" deleted and created again: a new random id, so another map and another context.
        try await store.deleteDisk(account: account, name: "left", accountKey: key)
        try await store.createDisk(account: account, name: "left", size: 2 * GiB, accountKey: key)
        try await store.writePages(account: account, name: "left", offset: 4096, data: fill(6, 4096), accountKey: key)
        let again = try await rawChunk(store, "left", 0, key)
        #expect(again.map != left0.map && again.value == nil)
        try await one.apply(RecordBatch(sets: [again.key: original0]), to: again.map)
        await expectIntegrityFailure("left", 0, "replayed into the new disk")
        #expect(try await other.readPages(account: account, name: "left", offset: 4096, length: 4096, accountKey: key) == fill(6, 4096))
    }

    /// The documented limit: a chunk record replaced by an older sealed
    /// value of the SAME chunk of the SAME disk is not detected (no
    /// freshness anchor outside the storage; docs/FORMAT.md "Disks (mutable
    /// objects)"). The read returns the older data. Asserted so that a
    /// future anchor (a per-disk counter or Merkle root in the vault)
    /// changes this test knowingly.
    static func rollbackIsNotDetected(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        let key = try Fixtures.accountKey()
        let store = DiskStore(backend: one), other = DiskStore(backend: two)
        try await store.createDisk(account: account, name: "rolled", size: MiB, accountKey: key)
        try await store.writePages(account: account, name: "rolled", offset: 2 * 4096, data: fill(0x01, 4096), accountKey: key)
        let old = try await rawChunk(store, "rolled", 2, key)
        try await store.writePages(account: account, name: "rolled", offset: 2 * 4096, data: fill(0x02, 4096), accountKey: key)
        #expect(try await other.readPages(account: account, name: "rolled", offset: 2 * 4096, length: 4096, accountKey: key) == fill(0x02, 4096))
        try await one.apply(RecordBatch(sets: [old.key: try #require(old.value)]), to: old.map)
        #expect(try await other.readPages(account: account, name: "rolled", offset: 2 * 4096, length: 4096, accountKey: key) == fill(0x01, 4096),
                "a rollback was detected: update docs/FORMAT.md \"Disks (mutable objects)\" and this test")
    }
}

extension DiskStoreTests {
    /// Page contents, disk names, metadata and the account name never reach
    /// the data directory's files (or their paths) in clear: after writing
    /// marker pages whole, in single pages (read-modify-write) and across a
    /// region boundary, and clearing some, no file holds a marker.
    @Test func nothingInClearOnDisk() async throws {
        let key = try Fixtures.accountKey()
        let dir = TempDirectory()
        defer { dir.remove() }
        let markers = ["acct-disk-wombat-1181", "disk-marmot-8812", "meta-ibex-2290", "plaintext-pangolin-7764"]
        let store = DiskStore(backend: try LocalBackend(directory: dir.path))
        let (account, name) = (markers[0], markers[1])
        try await store.createDisk(account: account, name: name, size: 2 * DiskStoreContract.GiB, metadata: ["note": markers[2]], accountKey: key)
        let page = Array(String(repeating: markers[3] + " ", count: 40).utf8.prefix(4096))
        let content = Array((0..<64).map { _ in page }.joined())
        try await store.writePages(account: account, name: name, offset: 0, data: content, accountKey: key)
        try await store.writePages(account: account, name: name, offset: DiskStoreContract.GiB - 2048, data: Array(content.prefix(8192)), accountKey: key)
        for index in 0..<8 {
            try await store.writePages(account: account, name: name, offset: 1 << 20 + UInt64(index) * 4608, data: Array(page.prefix(512)), accountKey: key)
        }
        try await store.clearPages(account: account, name: name, offset: 4096, length: 1024, accountKey: key)
        let files = dir.allFiles()
        #expect(files.count >= 4)
        for marker in markers {
            let needle = Array(marker.utf8)
            for file in files {
                #expect(!file.contains(marker), "path \(file) shows \(marker)")
                #expect(!dir.contents(file).contains(subsequence: needle), "\(file) contains \(marker)")
            }
        }
        // The same store reads everything back (the scan did not pass by accident).
        #expect(try await store.readPages(account: account, name: name, offset: 8192, length: content.count - 8192, accountKey: key) == Array(content[8192...]))
        #expect(try await store.readPages(account: account, name: name, offset: DiskStoreContract.GiB - 2048, length: 8192, accountKey: key) == Array(content.prefix(8192)))
        #expect(try await store.properties(account: account, name: name, accountKey: key).metadata == ["note": markers[2]])
    }
}
