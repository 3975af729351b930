import AtRestCrypto
@testable import AtRestStorage
import Testing

/// File data, quota and usage, tombstones, what reaches the disk, and
/// tampered tree records (local backend, real files).
@Suite struct FileStoreDataTests {
    static let account = FileStoreTests.account
    static let MiB = FileStoreTests.MiB
    static let GiB: UInt64 = 1 << 30

    static func expectError<T>(_ code: StorageError.Code, _ text: String? = nil, _ body: () async throws -> T,
                               sourceLocation: SourceLocation = #_sourceLocation) async {
        await BackendContract.expectError(code, text, body, sourceLocation: sourceLocation)
    }

    static func usage(_ store: FileStore, _ share: String, _ key: AccountKey) async throws -> (UInt64, UInt64, UInt64) {
        let info = try await store.shareProperties(account: account, name: share, accountKey: key)
        return (info.usageBytes, info.files, info.directories)
    }

    /// The quota refuses growth past it; usage is exact after writes,
    /// extensions, truncations, deletes and replacing renames.
    /// (A body of `FileStoreTests.bodies`: runs on local and RADOS.)
    @Sendable static func quotaAndUsage(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        let key = try Fixtures.accountKey()
        let a = FileStore(backend: one), b = FileStore(backend: two)
        try await a.createShare(account: Self.account, name: "quota", quota: Self.MiB, accountKey: key)
        try await a.createFile(account: Self.account, share: "quota", path: "a", accountKey: key)
        let first = Fixtures.data(100_000, seed: 1)
        try await a.writeFile(account: Self.account, share: "quota", path: "a", offset: 0, data: first, accountKey: key)
        #expect(try await Self.usage(b, "quota", key) == (100_000, 1, 0))
        // A write past the end grows the file by what lies between; sparse bytes read as zeros.
        try await b.writeFile(account: Self.account, share: "quota", path: "a", offset: 500_000, data: [7, 7, 7], accountKey: key)
        #expect(try await Self.usage(a, "quota", key) == (500_003, 1, 0))
        // A write inside the size changes nothing of the usage.
        try await a.writeFile(account: Self.account, share: "quota", path: "a", offset: 200_000, data: Fixtures.data(70_000, seed: 2), accountKey: key)
        #expect(try await Self.usage(a, "quota", key) == (500_003, 1, 0))
        var expected = first + [UInt8](repeating: 0, count: 400_003)
        expected.replaceSubrange(200_000..<270_000, with: Fixtures.data(70_000, seed: 2))
        expected.replaceSubrange(500_000..<500_003, with: [7, 7, 7])
        #expect(try await b.readFile(account: Self.account, share: "quota", path: "a", offset: 0, length: 4 << 20, accountKey: key) == expected)
        #expect(try await b.readFile(account: Self.account, share: "quota", path: "a", offset: 499_999, length: 100, accountKey: key) == [0, 7, 7, 7])
        #expect(try await b.readFile(account: Self.account, share: "quota", path: "a", offset: 500_003, length: 100, accountKey: key) == [])

        // Past the quota: refused, nothing changes.
        await Self.expectError(.resourceExhausted, "share quota of 1048576 bytes exceeded") {
            try await a.writeFile(account: Self.account, share: "quota", path: "a", offset: Self.MiB - 5, data: [UInt8](repeating: 1, count: 10), accountKey: key)
        }
        try await a.writeFile(account: Self.account, share: "quota", path: "a", offset: Self.MiB - 10, data: [UInt8](repeating: 1, count: 10), accountKey: key)
        #expect(try await Self.usage(a, "quota", key) == (Self.MiB, 1, 0))
        await Self.expectError(.resourceExhausted) { try await b.createFile(account: Self.account, share: "quota", path: "b", size: 1, accountKey: key) }
        try await b.createFile(account: Self.account, share: "quota", path: "b", accountKey: key)
        await Self.expectError(.resourceExhausted) { try await b.resizeFile(account: Self.account, share: "quota", path: "b", size: 1, accountKey: key) }

        // Truncate, then extend: the cut bytes read as zeros.
        try await a.resizeFile(account: Self.account, share: "quota", path: "a", size: 1000, accountKey: key)
        #expect(try await Self.usage(a, "quota", key) == (1000, 2, 0))
        try await b.resizeFile(account: Self.account, share: "quota", path: "a", size: 300_000, accountKey: key)
        let regrown = try await a.readFile(account: Self.account, share: "quota", path: "a", offset: 0, length: 300_000, accountKey: key)
        #expect(regrown == Array(first[0..<1000]) + [UInt8](repeating: 0, count: 299_000))
        try await b.resizeFile(account: Self.account, share: "quota", path: "b", size: 4000, accountKey: key)
        try await b.writeFile(account: Self.account, share: "quota", path: "b", offset: 0, data: Fixtures.data(4000, seed: 3), accountKey: key)
        #expect(try await Self.usage(a, "quota", key) == (304_000, 2, 0))
        // A rename that replaces a file frees its bytes; a delete frees the rest.
        try await a.rename(account: Self.account, share: "quota", from: "b", to: "a", accountKey: key)
        #expect(try await Self.usage(a, "quota", key) == (4000, 1, 0))
        #expect(try await b.readFile(account: Self.account, share: "quota", path: "a", offset: 0, length: 5000, accountKey: key) == Fixtures.data(4000, seed: 3))
        // A quota below the usage: growth refused, writes inside the file go on.
        try await a.setShareQuota(account: Self.account, name: "quota", quota: 3000, accountKey: key)
        await Self.expectError(.resourceExhausted) {
            try await a.writeFile(account: Self.account, share: "quota", path: "a", offset: 4000, data: [1], accountKey: key)
        }
        try await a.writeFile(account: Self.account, share: "quota", path: "a", offset: 3999, data: [1], accountKey: key)
        try await b.deleteFile(account: Self.account, share: "quota", path: "a", accountKey: key)
        #expect(try await Self.usage(a, "quota", key) == (0, 0, 0))

        // Data across a region boundary (1 GiB) of a sparse file, and the limits of a call.
        try await a.setShareQuota(account: Self.account, name: "quota", quota: 4 * Self.GiB, accountKey: key)
        try await a.createFile(account: Self.account, share: "quota", path: "sparse", size: 2 * Self.GiB, accountKey: key)
        let across = Fixtures.data(200_000, seed: 4)
        try await a.writeFile(account: Self.account, share: "quota", path: "sparse", offset: Self.GiB - 100_000, data: across, accountKey: key)
        #expect(try await b.readFile(account: Self.account, share: "quota", path: "sparse", offset: Self.GiB - 100_001, length: 200_002, accountKey: key)
                == [0] + across + [0])
        #expect(try await b.readFile(account: Self.account, share: "quota", path: "sparse", offset: 3, length: 5, accountKey: key) == [0, 0, 0, 0, 0])
        await Self.expectError(.invalidArgument, "1 byte to 4 MiB") {
            try await a.writeFile(account: Self.account, share: "quota", path: "sparse", offset: 0, data: [], accountKey: key)
        }
        await Self.expectError(.invalidArgument, "1 byte to 4 MiB") {
            try await a.readFile(account: Self.account, share: "quota", path: "sparse", offset: 0, length: (4 << 20) + 1, accountKey: key)
        }
        await Self.expectError(.invalidArgument, "4 TiB") {
            try await a.writeFile(account: Self.account, share: "quota", path: "sparse", offset: FileLimits.maxFileSize, data: [1], accountKey: key)
        }
        #expect(try await Self.usage(a, "quota", key) == (2 * Self.GiB, 1, 0))
        try await a.deleteShare(account: Self.account, name: "quota", accountKey: key)
    }

    /// Writers of different ranges of one file, on two stores at once,
    /// growing it side by side (within one 64 KiB chunk and across
    /// chunks): every write lands, the size is the furthest end, the usage
    /// is exact.
    @Test func concurrentWritersOfOneFile() async throws {
        let key = try Fixtures.accountKey()
        let (a, b, dir) = try FileStoreTests.stores()
        defer { dir.remove() }
        try await a.createShare(account: Self.account, name: "writers", quota: Self.GiB, accountKey: key)
        try await a.createFile(account: Self.account, share: "writers", path: "f", accountKey: key)
        var expected: [UInt8] = []
        for round in 0..<30 {
            let length = round % 3 == 0 ? 30_000 : 7_000, start = expected.count
            let one = Fixtures.data(length, seed: UInt8(2 * round)), two = Fixtures.data(length, seed: UInt8(2 * round + 1))
            // The later range first on one side: each write may or may not be the one that grows the file.
            async let first: Void = a.writeFile(account: Self.account, share: "writers", path: "f", offset: UInt64(start), data: one, accountKey: key)
            async let second: Void = b.writeFile(account: Self.account, share: "writers", path: "f", offset: UInt64(start + length), data: two,
                                                 accountKey: key)
            _ = try await (first, second)
            expected += one + two
        }
        #expect(try await Self.usage(a, "writers", key) == (UInt64(expected.count), 1, 0))
        #expect(try await b.readFile(account: Self.account, share: "writers", path: "f", offset: 0, length: expected.count + 1, accountKey: key) == expected)
    }

    /// A delete that stops between its tree batch and the deletion of the
    /// data's maps (the backend fails there, as a crash would) leaves a
    /// tombstone; the next sweep (explicit, or at the start of the next
    /// delete in the share) deletes the maps and the tombstone.
    @Test func crashedDeleteIsFinishedBySweep() async throws {
        let key = try Fixtures.accountKey()
        let dir = TempDirectory()
        defer { dir.remove() }
        let local = try LocalBackend(directory: dir.path)
        let hooked = HookedBackend(local)
        let store = FileStore(backend: hooked), other = FileStore(backend: try LocalBackend(directory: dir.path))
        try await store.createShare(account: Self.account, name: "crashy", quota: 4 * Self.GiB, accountKey: key)
        var maps: [String: [RecordMapName]] = [:]
        for name in ["one", "two", "three"] {
            try await store.createFile(account: Self.account, share: "crashy", path: name, accountKey: key)
            try await store.writeFile(account: Self.account, share: "crashy", path: name, offset: 10, data: Fixtures.data(100), accountKey: key)
            try await store.writeFile(account: Self.account, share: "crashy", path: name, offset: Self.GiB + 10, data: Fixtures.data(100), accountKey: key)
            let s = try await store.share(Self.account, "crashy", key)
            let dataID = try await store.resolve(try FilePath(name), s, key).node.record.dataID
            maps[name] = try [0, 1].map { try FileStore.dataMap(s, dataID, $0) }
            for map in maps[name]! { #expect(try await local.recordKeys(map, after: nil, limit: 10).keys.count == 1) }
        }
        let s = try await store.share(Self.account, "crashy", key)
        let tombstones = { try await local.records(s.tree, after: FileStore.tombstonePrefix, limit: 100).records.filter { $0.key.hasPrefix("z-") } }

        hooked.failingDeletes { $0.map.hasPrefix("fc-") }
        await Self.expectError(.io, "failed (test)") { try await store.deleteFile(account: Self.account, share: "crashy", path: "one", accountKey: key) }
        // The file is gone from the tree and the usage; its data and a tombstone remain.
        await Self.expectError(.notFound) { try await other.properties(account: Self.account, share: "crashy", path: "one", accountKey: key) }
        #expect(try await Self.usage(other, "crashy", key) == (2 * (Self.GiB + 110), 2, 0))
        #expect(try await tombstones().count == 1)
        for map in maps["one"]! { #expect(try await local.recordKeys(map, after: nil, limit: 10).keys.count == 1) }

        hooked.failingDeletes(where: nil)
        #expect(try await other.sweepTombstones(account: Self.account, share: "crashy", accountKey: key) == 1)
        for map in maps["one"]! { await Self.expectError(.notFound) { try await local.recordKeys(map, after: nil, limit: 10) } }
        #expect(try await tombstones().isEmpty)
        #expect(try await other.sweepTombstones(account: Self.account, share: "crashy", accountKey: key) == 0)

        // Again, finished this time by the next delete in the share.
        hooked.failingDeletes { $0.map.hasPrefix("fc-") }
        await Self.expectError(.io) { try await store.deleteFile(account: Self.account, share: "crashy", path: "two", accountKey: key) }
        hooked.failingDeletes(where: nil)
        #expect(try await tombstones().count == 1)
        try await other.deleteFile(account: Self.account, share: "crashy", path: "three", accountKey: key)
        for map in maps["two"]! + maps["three"]! { await Self.expectError(.notFound) { try await local.recordKeys(map, after: nil, limit: 10) } }
        #expect(try await tombstones().isEmpty)
        #expect(try await Self.usage(other, "crashy", key) == (0, 0, 0))
    }

    /// A share deleted while it holds data, a tombstone and directories
    /// leaves no map behind.
    @Test func shareDeleteRemovesEverything() async throws {
        let key = try Fixtures.accountKey()
        let dir = TempDirectory()
        defer { dir.remove() }
        let local = try LocalBackend(directory: dir.path), hooked = HookedBackend(local)
        let store = FileStore(backend: hooked)
        try await store.createShare(account: Self.account, name: "gone", quota: Self.GiB, accountKey: key)
        try await store.createDirectory(account: Self.account, share: "gone", path: "d", accountKey: key)
        var maps: [RecordMapName] = []
        for name in ["d/x", "y"] {
            try await store.createFile(account: Self.account, share: "gone", path: name, accountKey: key)
            try await store.writeFile(account: Self.account, share: "gone", path: name, offset: 70_000, data: Fixtures.data(100), accountKey: key)
            let s = try await store.share(Self.account, "gone", key)
            maps.append(try FileStore.dataMap(s, try await store.resolve(try FilePath(name), s, key).node.record.dataID, 0))
        }
        hooked.failingDeletes { $0.map.hasPrefix("fc-") }
        await Self.expectError(.io) { try await store.deleteFile(account: Self.account, share: "gone", path: "y", accountKey: key) }
        hooked.failingDeletes(where: nil)
        let tree = try await store.share(Self.account, "gone", key).tree
        try await store.deleteShare(account: Self.account, name: "gone", accountKey: key)
        for map in maps + [tree] { await Self.expectError(.notFound) { try await local.recordKeys(map, after: nil, limit: 10) } }
    }

    /// Names of shares, directories and files, metadata and contents appear
    /// nowhere in the data directory (paths or bytes).
    @Test func nothingInClear() async throws {
        let key = try Fixtures.accountKey()
        let dir = TempDirectory()
        defer { dir.remove() }
        let store = FileStore(backend: try LocalBackend(directory: dir.path))
        let markers = ["acct-zebra-7731", "share-okapi-4410", "dir-narwhal-9921", "file-quokka-5512.txt", "meta-axolotl-3306", "content-pangolin-8840",
                       "sharemeta-tapir-1177"]
        try await store.createShare(account: markers[0], name: markers[1], quota: Self.GiB, metadata: ["note": markers[6]], accountKey: key)
        try await store.createDirectory(account: markers[0], share: markers[1], path: markers[2], metadata: ["note": markers[4]], accountKey: key)
        let path = "\(markers[2])/\(markers[3])"
        try await store.createFile(account: markers[0], share: markers[1], path: path, metadata: ["note": markers[4]], accountKey: key)
        let content = Array(String(repeating: markers[5] + " ", count: 20_000).utf8)
        try await store.writeFile(account: markers[0], share: markers[1], path: path, offset: 0, data: content, accountKey: key)
        try await store.writeFile(account: markers[0], share: markers[1], path: path, offset: 3, data: Array(markers[5].utf8), accountKey: key)
        try await store.rename(account: markers[0], share: markers[1], from: path, to: markers[3] + ".moved", accountKey: key)
        let files = dir.allFiles()
        #expect(files.count >= 3)
        for marker in markers + [markers[3] + ".moved"] {
            let needle = Array(marker.utf8)
            for file in files {
                #expect(!file.contains(marker), "path \(file) shows \(marker)")
                #expect(!dir.contents(file).contains(subsequence: needle), "\(file) contains \(marker)")
            }
        }
        // Everything still reads back (the grep did not pass by accident).
        var expected = content
        expected.replaceSubrange(3..<3 + markers[5].utf8.count, with: Array(markers[5].utf8))
        #expect(try await store.readFile(account: markers[0], share: markers[1], path: markers[3] + ".moved", offset: 0, length: content.count,
                                         accountKey: key) == expected)
        #expect(try await store.properties(account: markers[0], share: markers[1], path: markers[2], accountKey: key).metadata == ["note": markers[4]])
    }

    /// Tree records moved or swapped in the backend fail `.integrityFailure`,
    /// never another file's name or data; put back, everything reads again.
    @Test func tamperedTreeRecordsFail() async throws {
        let key = try Fixtures.accountKey()
        let (store, other, dir) = try FileStoreTests.stores()
        defer { dir.remove() }
        let local = other.backend
        try await store.createShare(account: Self.account, name: "tamper", quota: Self.GiB, accountKey: key)
        for d in ["d1", "d2"] { try await store.createDirectory(account: Self.account, share: "tamper", path: d, accountKey: key) }
        for (index, path) in ["d1/x", "d1/y", "d2/z"].enumerated() {
            try await store.createFile(account: Self.account, share: "tamper", path: path, accountKey: key)
            try await store.writeFile(account: Self.account, share: "tamper", path: path, offset: 0, data: Fixtures.data(1000 + index, seed: UInt8(index)), accountKey: key)
        }
        let s = try await store.share(Self.account, "tamper", key)
        let d1 = try await store.resolve(try FilePath("d1"), s, key).node.id, d2 = try await store.resolve(try FilePath("d2"), s, key).node.id
        let x = try await store.resolve(try FilePath("d1/x"), s, key), z = try await store.resolve(try FilePath("d2/z"), s, key)
        func raw(_ key: String) async throws -> [UInt8]? { try await local.records(s.tree, keys: [key])[key] }
        func put(_ sets: [String: [UInt8]], removes: [String] = []) async throws { try await local.apply(RecordBatch(sets: sets, removes: removes), to: s.tree) }
        func properties(_ path: String) async throws -> FileInfo { try await other.properties(account: Self.account, share: "tamper", path: path, accountKey: key) }

        // x's entry copied under d2 (same name), and to another name's key in d1.
        let xUnderD2 = try store.entryKey(s, d2, "x", key), yKey = try store.entryKey(s, d1, "y", key)
        let yEntry = try #require(try await raw(yKey))
        try await put([xUnderD2: x.link.sealed])
        await Self.expectError(.integrityFailure, "does not authenticate") { try await properties("d2/x") }
        await Self.expectError(.integrityFailure) { try await other.listDirectory(account: Self.account, share: "tamper", path: "d2", accountKey: key) }
        try await put([yKey: x.link.sealed])
        await Self.expectError(.integrityFailure) { try await properties("d1/y") }
        await Self.expectError(.integrityFailure) { try await other.readFile(account: Self.account, share: "tamper", path: "d1/y", offset: 0, length: 10, accountKey: key) }
        try await put([yKey: yEntry], removes: [xUnderD2])
        #expect(try await properties("d1/y").size == 1001)
        #expect(try await other.listDirectory(account: Self.account, share: "tamper", path: "d2", accountKey: key).entries.map(\.name) == ["z"])

        // The inode records of x and z swapped.
        try await put([x.node.key: z.node.sealed, z.node.key: x.node.sealed])
        await Self.expectError(.integrityFailure) { try await properties("d1/x") }
        await Self.expectError(.integrityFailure) { try await other.readFile(account: Self.account, share: "tamper", path: "d2/z", offset: 0, length: 10, accountKey: key) }
        await Self.expectError(.integrityFailure) { try await other.listDirectory(account: Self.account, share: "tamper", path: "d1", accountKey: key) }
        // The usage record replaced by an inode's: fails too.
        let usage = try #require(try await raw(FileStore.usageKey))
        try await put([x.node.key: x.node.sealed, z.node.key: z.node.sealed, FileStore.usageKey: x.node.sealed])
        await Self.expectError(.integrityFailure) { try await other.shareProperties(account: Self.account, name: "tamper", accountKey: key) }
        try await put([FileStore.usageKey: usage])
        #expect(try await properties("d1/x").size == 1000)
        #expect(try await properties("d2/z").size == 1002)
        #expect(try await other.readFile(account: Self.account, share: "tamper", path: "d2/z", offset: 0, length: 2000, accountKey: key)
                == Fixtures.data(1002, seed: 2))
    }
}
