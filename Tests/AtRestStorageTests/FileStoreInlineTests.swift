import AtRestCrypto
@testable import AtRestStorage
import Testing

/// Small files keep their data in the inode record (docs/FORMAT.md
/// "Files"); growing past `FileLimits.inlineBytes` moves it to chunks: on
/// every backend (a body of `FileStoreTests.bodies`), and a crash or a race
/// in the move (local backend, a hooked batch).
@Suite struct FileStoreInlineTests {
    static let account = FileStoreTests.account
    static let limit = Int(FileLimits.inlineBytes)

    static func node(_ store: FileStore, _ share: String, _ path: String, _ key: AccountKey) async throws -> FileStore.Node {
        let s = try await store.share(account, share, key)
        return try await store.resolve(try FilePath(path), s, key).node
    }

    static func read(_ store: FileStore, _ share: String, _ path: String, _ key: AccountKey) async throws -> [UInt8] {
        try await store.readFile(account: account, share: share, path: path, offset: 0, length: 4 << 20, accountKey: key)
    }

    /// Inline files read, write, resize and count in the usage like any
    /// other; writes and resizes past the limit move the data to chunks
    /// (a new data id when there were bytes), and nothing moves back.
    @Sendable static func inlineGrowsIntoChunks(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        let key = try Fixtures.accountKey()
        let a = FileStore(backend: one), b = FileStore(backend: two)
        try await a.createShare(account: account, name: "inline", quota: 1 << 30, accountKey: key)
        try await a.createFile(account: account, share: "inline", path: "small", accountKey: key)
        var expected = Fixtures.data(100, seed: 3)
        try await a.writeFile(account: account, share: "inline", path: "small", offset: 0, data: expected, accountKey: key)
        let inline = try await node(b, "inline", "small", key)
        #expect(inline.record.inline == expected && inline.record.size == 100)
        // No chunk map for an inline file.
        let s = try await b.share(account, "inline", key)
        await FileStoreTests.expectError(.notFound) { try await one.recordKeys(try FileStore.dataMap(s, inline.record.dataID, 0), after: nil, limit: 1) }

        // Up to the limit exactly: still inline; sparse bytes read as zeros.
        let tail = Fixtures.data(10, seed: 4)
        try await b.writeFile(account: account, share: "inline", path: "small", offset: UInt64(limit - 10), data: tail, accountKey: key)
        expected += [UInt8](repeating: 0, count: limit - 10 - 100) + tail
        #expect(try await read(a, "inline", "small", key) == expected)
        #expect(try await node(a, "inline", "small", key).record.inline?.count == limit)
        #expect(try await a.shareProperties(account: account, name: "inline", accountKey: key).usageBytes == UInt64(limit))

        // One byte more: chunks under a new data id, the bytes the same.
        try await a.writeFile(account: account, share: "inline", path: "small", offset: UInt64(limit), data: [9], accountKey: key)
        expected.append(9)
        let moved = try await node(b, "inline", "small", key)
        #expect(moved.record.inline == nil && moved.record.size == UInt64(limit + 1) && moved.record.dataID != inline.record.dataID)
        #expect(try await read(b, "inline", "small", key) == expected)
        #expect(try await one.recordKeys(try FileStore.dataMap(s, moved.record.dataID, 0), after: nil, limit: 1).keys.count == 1)
        // Truncated below the limit: stays in chunks.
        try await b.resizeFile(account: account, share: "inline", path: "small", size: 50, accountKey: key)
        #expect(try await node(a, "inline", "small", key).record.inline == nil)
        #expect(try await read(a, "inline", "small", key) == Array(expected.prefix(50)))

        // Created with a size: zeros inline; resized within and past the limit.
        try await a.createFile(account: account, share: "inline", path: "sized", size: 5000, accountKey: key)
        #expect(try await node(b, "inline", "sized", key).record.inline == [UInt8](repeating: 0, count: 5000))
        try await b.writeFile(account: account, share: "inline", path: "sized", offset: 0, data: [1, 2, 3], accountKey: key)
        try await b.resizeFile(account: account, share: "inline", path: "sized", size: 2, accountKey: key)
        try await a.resizeFile(account: account, share: "inline", path: "sized", size: 7000, accountKey: key)
        #expect(try await read(b, "inline", "sized", key) == [1, 2] + [UInt8](repeating: 0, count: 6998))
        try await a.resizeFile(account: account, share: "inline", path: "sized", size: 100_000, accountKey: key)
        #expect(try await node(b, "inline", "sized", key).record.inline == nil)
        #expect(try await read(b, "inline", "sized", key) == [1, 2] + [UInt8](repeating: 0, count: 99_998))

        // An empty file written large keeps its data id (nothing to move); one created large is chunked at once.
        try await a.createFile(account: account, share: "inline", path: "big", accountKey: key)
        let empty = try await node(a, "inline", "big", key)
        let big = Fixtures.data(1 << 20, seed: 5)
        try await b.writeFile(account: account, share: "inline", path: "big", offset: 0, data: big, accountKey: key)
        let written = try await node(a, "inline", "big", key)
        #expect(written.record.inline == nil && written.record.dataID == empty.record.dataID)
        #expect(try await read(a, "inline", "big", key) == big)
        try await a.createFile(account: account, share: "inline", path: "large", size: 1 << 20, accountKey: key)
        #expect(try await node(b, "inline", "large", key).record.inline == nil)

        // Usage is exact; deletes and renames work on inline files; no tombstone is left.
        #expect(try await a.shareProperties(account: account, name: "inline", accountKey: key).usageBytes == 50 + 100_000 + (1 << 20) + (1 << 20))
        try await a.createFile(account: account, share: "inline", path: "tiny", accountKey: key)
        try await a.writeFile(account: account, share: "inline", path: "tiny", offset: 0, data: [42], accountKey: key)
        try await b.rename(account: account, share: "inline", from: "tiny", to: "small", replace: true, accountKey: key)
        #expect(try await read(a, "inline", "small", key) == [42])
        try await b.deleteFile(account: account, share: "inline", path: "small", accountKey: key)
        #expect(try await a.shareProperties(account: account, name: "inline", accountKey: key).usageBytes == 100_000 + (1 << 20) + (1 << 20))
        let tombstones = try await one.records(s.tree, after: FileStore.tombstonePrefix, limit: 100).records.filter { $0.key.hasPrefix("z-") }
        #expect(tombstones.isEmpty)
    }

    /// A crash between writing the moved bytes and the batch that makes
    /// them the file's: the file still reads its inline bytes, and the
    /// tombstone written first lets the sweep remove the orphaned chunks.
    @Test func crashWhileMovingToChunks() async throws {
        let key = try Fixtures.accountKey()
        let dir = TempDirectory()
        defer { dir.remove() }
        let local = try LocalBackend(directory: dir.path)
        let hooked = HookedBackend(local)
        let store = FileStore(backend: hooked), other = FileStore(backend: try LocalBackend(directory: dir.path))
        try await store.createShare(account: Self.account, name: "crashy", quota: 1 << 30, accountKey: key)
        try await store.createFile(account: Self.account, share: "crashy", path: "f", accountKey: key)
        let first = Fixtures.data(1000, seed: 6)
        try await store.writeFile(account: Self.account, share: "crashy", path: "f", offset: 0, data: first, accountKey: key)
        let s = try await store.share(Self.account, "crashy", key)
        hooked.beforeApplying(where: { map, batch in map == s.tree && batch.removes.contains { $0.hasPrefix(FileStore.tombstonePrefix) } }) {
            throw StorageError(.io, "crashed (test)")
        }
        await FileStoreTests.expectError(.io, "crashed (test)") {
            try await store.writeFile(account: Self.account, share: "crashy", path: "f", offset: 20_000, data: [1], accountKey: key)
        }
        #expect(try await Self.read(other, "crashy", "f", key) == first)
        let tombstones = try await local.records(s.tree, after: FileStore.tombstonePrefix, limit: 100).records.filter { $0.key.hasPrefix("z-") }
        try #require(tombstones.count == 1)
        let orphan = try #require(Hex.decode(String(tombstones[0].key.dropFirst(2))))
        #expect(try await local.recordKeys(try FileStore.dataMap(s, orphan, 0), after: nil, limit: 10).keys.count == 1)
        #expect(try await other.sweepTombstones(account: Self.account, share: "crashy", accountKey: key) == 1)
        await FileStoreTests.expectError(.notFound) { try await local.recordKeys(try FileStore.dataMap(s, orphan, 0), after: nil, limit: 10) }
        // The write succeeds when retried.
        try await store.writeFile(account: Self.account, share: "crashy", path: "f", offset: 20_000, data: [1], accountKey: key)
        #expect(try await Self.read(other, "crashy", "f", key) == first + [UInt8](repeating: 0, count: 19_000) + [1])
    }

    /// Two writers move one inline file to chunks at once: the one whose
    /// batch loses removes its copy and writes again on the winner's
    /// chunks, so neither write is lost to a stale copy of the inline bytes.
    @Test func racingMovesLoseNoWrite() async throws {
        let key = try Fixtures.accountKey()
        let dir = TempDirectory()
        defer { dir.remove() }
        let local = try LocalBackend(directory: dir.path)
        let hooked = HookedBackend(local)
        let store = FileStore(backend: hooked), other = FileStore(backend: try LocalBackend(directory: dir.path))
        try await store.createShare(account: Self.account, name: "race", quota: 1 << 30, accountKey: key)
        try await store.createFile(account: Self.account, share: "race", path: "f", accountKey: key)
        try await store.writeFile(account: Self.account, share: "race", path: "f", offset: 0, data: [UInt8](repeating: 1, count: 4000), accountKey: key)
        let s = try await store.share(Self.account, "race", key)
        let theirs = Fixtures.data(3000, seed: 8)
        // Just before this store's move lands, the other moves the file with its own write over the inline bytes.
        hooked.beforeApplying(where: { map, batch in map == s.tree && batch.removes.contains { $0.hasPrefix(FileStore.tombstonePrefix) } }) {
            try await other.writeFile(account: Self.account, share: "race", path: "f", offset: 500, data: theirs + [UInt8](repeating: 2, count: 10_000),
                                      accountKey: key)
        }
        let mine = Fixtures.data(2000, seed: 9)
        try await store.writeFile(account: Self.account, share: "race", path: "f", offset: 20_000, data: mine, accountKey: key)
        #expect(hooked.ran)
        var expected = [UInt8](repeating: 1, count: 500) + theirs + [UInt8](repeating: 2, count: 10_000)
        expected += [UInt8](repeating: 0, count: 20_000 - expected.count) + mine
        #expect(try await Self.read(other, "race", "f", key) == expected)
        let tombstones = try await local.records(s.tree, after: FileStore.tombstonePrefix, limit: 100).records.filter { $0.key.hasPrefix("z-") }
        #expect(tombstones.isEmpty)
        #expect(try await other.shareProperties(account: Self.account, name: "race", accountKey: key).usageBytes == 22_000)
    }

    /// A file created with its data: up to 8 KiB in the create's one batch
    /// (a crash before it leaves no file and no usage), past it created and
    /// then written; bad sizes are refused.
    @Test func createWithData() async throws {
        let key = try Fixtures.accountKey()
        let dir = TempDirectory()
        defer { dir.remove() }
        let hooked = HookedBackend(try LocalBackend(directory: dir.path))
        let store = FileStore(backend: hooked), other = FileStore(backend: try LocalBackend(directory: dir.path))
        try await store.createShare(account: Self.account, name: "batched", quota: 1 << 30, accountKey: key)
        let small = Fixtures.data(4096, seed: 10)
        let s = try await store.share(Self.account, "batched", key)
        hooked.beforeApplying(where: { map, batch in map == s.tree && batch.sets.keys.contains { $0.hasPrefix("e-") } }) {
            throw StorageError(.io, "crashed (test)")
        }
        await FileStoreTests.expectError(.io, "crashed (test)") {
            try await store.createFile(account: Self.account, share: "batched", path: "f", data: small, accountKey: key)
        }
        await FileStoreTests.expectError(.notFound) { try await other.properties(account: Self.account, share: "batched", path: "f", accountKey: key) }
        #expect(try await other.shareProperties(account: Self.account, name: "batched", accountKey: key).files == 0)
        let made = try await store.createFile(account: Self.account, share: "batched", path: "f", mode: 0o600, data: small, accountKey: key)
        #expect(made.size == 4096 && made.mode == 0o600)
        #expect(try await Self.read(other, "batched", "f", key) == small)
        #expect(try await Self.node(other, "batched", "f", key).record.inline == small)
        let large = Fixtures.data(300_000, seed: 11)
        #expect(try await store.createFile(account: Self.account, share: "batched", path: "g", size: 300_000, data: large, accountKey: key).size == 300_000)
        #expect(try await Self.read(other, "batched", "g", key) == large)
        #expect(try await other.shareProperties(account: Self.account, name: "batched", accountKey: key).usageBytes == 304_096)
        await FileStoreTests.expectError(.alreadyExists) {
            try await store.createFile(account: Self.account, share: "batched", path: "f", data: [1], accountKey: key)
        }
        await FileStoreTests.expectError(.invalidArgument, "cannot have size") {
            try await store.createFile(account: Self.account, share: "batched", path: "h", size: 5, data: [1], accountKey: key)
        }
        await FileStoreTests.expectError(.invalidArgument, "4 MiB") {
            try await store.createFile(account: Self.account, share: "batched", path: "h", data: [UInt8](repeating: 0, count: (4 << 20) + 1), accountKey: key)
        }
    }
}
