import Testing
import AtRestCrypto
import Dispatch
import Glibc
import Synchronization
@testable import AtRestStorage

/// The store's write path: replaced small files are swapped out and reused
/// as the next temp file (`SparePool`), never under a reader, and every
/// acknowledged write stays readable; concurrent writers share directory
/// fsyncs (`DirectorySync`).
@Suite struct InodeReuseTests {
    let key: AccountKey
    init() throws { key = try Fixtures.accountKey() }

    private func withStore(_ body: (ObjectStore, String) async throws -> Void) async throws { try await Fixtures.withStore(key, body) }

    private func inode(_ path: String) -> UInt64 {
        var info = stat()
        return stat(path, &info) == 0 ? UInt64(info.st_ino) : 0
    }

    private func temps(_ container: String) throws -> [String] {
        try FileSystem.list(container).filter { $0.hasPrefix(AtomicFile.tempPrefix) }
    }

    @Test func overwritesReuseTheReplacedInode() async throws {
        try await withStore { store, container in
            let path = "\(container)/o-\(try store.objectHash("c", "n", key))"
            try await store.put(account: "acct", container: "c", name: "n", data: Fixtures.data(4096), accountKey: key)
            let first = inode(path)
            try await store.put(account: "acct", container: "c", name: "n", data: Fixtures.data(5000), accountKey: key)
            #expect(inode(path) != first)
            #expect(try temps(container).count == 1, "the replaced file is kept as a spare")
            try await store.put(account: "acct", container: "c", name: "n", data: Fixtures.data(3000), accountKey: key)
            #expect(inode(path) == first, "the third write refilled the first file's inode")
            #expect(try await store.get(account: "acct", container: "c", name: "n", accountKey: key).data == Fixtures.data(3000))
            // A new name takes a spare too; a big replaced file is kept as well.
            try await store.put(account: "acct", container: "c", name: "m", data: Fixtures.data(10), accountKey: key)
            #expect(try temps(container).isEmpty)
            try await store.put(account: "acct", container: "c", name: "big", data: Fixtures.data(200_000), accountKey: key)
            try await store.put(account: "acct", container: "c", name: "big", data: Fixtures.data(200_001), accountKey: key)
            #expect(try temps(container).count == 1, "a replaced big file is kept too (within the byte budget)")
            #expect(try await store.get(account: "acct", container: "c", name: "m", accountKey: key).data == Fixtures.data(10))
            #expect(try await store.get(account: "acct", container: "c", name: "big", accountKey: key).data == Fixtures.data(200_001))
        }
    }

    /// A spare is written over, not emptied first: what the new content does
    /// not cover must be gone before the file is published, on the gathered
    /// path (small objects) and on the whole-buffer `O_DIRECT` path alike.
    @Test func aRefilledSpareKeepsNothingOfItsOldContent() async throws {
        try await withStore { store, container in
            func size(_ name: String) throws -> Int {
                var info = stat()
                #expect(stat("\(container)/o-\(try store.objectHash("c", name, key))", &info) == 0)
                return Int(info.st_size)
            }
            for (small, large) in [(3000, 400_000), (1_500_000, 3_000_000)] {
                // The same sizes written into fresh files, for the expected file sizes.
                try await store.put(account: "acct", container: "c", name: "f", data: Fixtures.data(small, seed: 1), accountKey: key)
                let fresh = try size("f")
                try await store.delete(account: "acct", container: "c", name: "f", accountKey: key)
                // A large file becomes a spare, then a smaller object refills it.
                try await store.put(account: "acct", container: "c", name: "big", data: Fixtures.data(large, seed: 2), accountKey: key)
                try await store.put(account: "acct", container: "c", name: "big", data: Fixtures.data(1, seed: 3), accountKey: key)
                try await store.put(account: "acct", container: "c", name: "g", data: Fixtures.data(small, seed: 4), accountKey: key)
                #expect(try size("g") == fresh, "a refilled spare of a \(large)-byte object kept bytes past the new \(small)-byte content")
                #expect(try await store.get(account: "acct", container: "c", name: "g", accountKey: key).data == Fixtures.data(small, seed: 4))
                try await store.delete(account: "acct", container: "c", name: "g", accountKey: key)
            }
        }
    }

    @Test func replacedBlockFilesBecomeSparesForTheNextBlocks() async throws {
        try await withStore { store, container in
            func upload(_ seed: UInt8) async throws {
                for i in 0..<3 {
                    try await store.stageBlock(account: "acct", container: "c", name: "big", blockID: [seed, UInt8(i)],
                                         data: Fixtures.data(100_000, seed: seed &+ UInt8(i)), accountKey: key)
                }
                try await store.commitBlocks(account: "acct", container: "c", name: "big", blockIDs: (0..<3).map { [seed, UInt8($0)] }, accountKey: key)
            }
            try await upload(1)
            #expect(try temps(container).isEmpty)
            let blockFiles = try FileSystem.list(container).filter { $0.hasPrefix("s-") }
            let inodes = Set(blockFiles.map { inode("\(container)/\($0)") })
            try await upload(2)
            #expect(try temps(container).count == 4, "the first list's block files and its manifest are kept as spares")
            #expect(try FileSystem.list(container).filter { $0.hasPrefix("s-") }.count == 3)
            try await upload(3)
            let now = Set(try FileSystem.list(container).filter { $0.hasPrefix("s-") }.map { inode("\(container)/\($0)") })
            #expect(now == inodes, "the third list was staged into the first list's inodes")
            let expected = (0..<3).flatMap { Fixtures.data(100_000, seed: 3 &+ UInt8($0)) }
            #expect(try await store.get(account: "acct", container: "c", name: "big", accountKey: key).data == expected)
        }
    }

    @Test func aFileBeingReadIsNeverRewritten() async throws {
        try await withStore { store, container in
            let path = "\(container)/o-\(try store.objectHash("c", "n", key))"
            try await store.put(account: "acct", container: "c", name: "n", data: Fixtures.data(4096), accountKey: key)
            let reader = try #require(try FileSystem.openForReading(path))
            defer { close(reader) }
            let before = try FileSource(descriptor: reader).read(at: 0, count: Int(try FileSource(descriptor: reader).size))
            // The read file becomes a spare, then every later write would reuse it.
            for size in [100, 200, 300, 400] {
                try await store.put(account: "acct", container: "c", name: "n", data: Fixtures.data(size), accountKey: key)
            }
            let after = try FileSource(descriptor: reader).read(at: 0, count: before.count)
            #expect(after == before, "the reader's file was rewritten under it")
            #expect(try await store.get(account: "acct", container: "c", name: "n", accountKey: key).data == Fixtures.data(400))
        }
    }

    @Test func aReplacedFileAlsoLinkedElsewhereIsNotReused() async throws {
        try await withStore { store, container in
            try await store.put(account: "acct", container: "c", name: "n", data: Fixtures.data(100), accountKey: key)
            let path = "\(container)/o-\(try store.objectHash("c", "n", key))"
            let other = "\(container)/pinned"
            #expect(link(path, other) == 0)
            let pinned = TempDirectory().contents(other)
            for size in [1, 2, 3] { try await store.put(account: "acct", container: "c", name: "n", data: Fixtures.data(size), accountKey: key) }
            #expect(TempDirectory().contents(other) == pinned, "a file with another link was refilled")
        }
    }

    @Test func sparesOfADeadStoreAreCleanedAtOpen() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        var store: ObjectStore? = try ObjectStore(directory: dir.path)
        try await store!.createContainer(account: "acct", name: "c", accountKey: key)
        for size in [1, 2] { try await store!.put(account: "acct", container: "c", name: "n", data: Fixtures.data(size), accountKey: key) }
        let container = try Fixtures.containerPath(store!, "acct", "c", key)
        #expect(try temps(container).count == 1)
        store = nil
        let reopened = try ObjectStore(directory: dir.path)
        #expect(Fixtures.local(reopened).cleanedTempFiles == 1)
        #expect(try temps(container).isEmpty)
        #expect(try await reopened.get(account: "acct", container: "c", name: "n", accountKey: key).data == Fixtures.data(2))
    }

    @Test func concurrentWritersAllLand() async throws {
        try await withStore { store, container in
            let key = self.key
            let failed = await withTaskGroup(of: String?.self) { group in
                for i in 0..<64 {
                    group.addTask {
                        do {
                            try await store.put(account: "acct", container: "c", name: "o\(i % 16)", data: Fixtures.data(1000 + i), accountKey: key)
                            try await store.stageBlock(account: "acct", container: "c", name: "big", blockID: [UInt8(i)],
                                                       data: Fixtures.data(70_000 + i), accountKey: key)
                            return nil
                        } catch {
                            return "\(error)"
                        }
                    }
                }
                return await group.reduce(into: [String]()) { if let error = $1 { $0.append(error) } }
            }
            #expect(failed.isEmpty, "\(failed)")
            for i in 48..<64 {
                let got = try await store.get(account: "acct", container: "c", name: "o\(i % 16)", accountKey: key).data
                #expect(got.count >= 1000 && got == Fixtures.data(got.count), "o\(i % 16) is torn")
            }
            try await store.commitBlocks(account: "acct", container: "c", name: "big", blockIDs: (0..<64).map { [UInt8($0)] }, accountKey: key)
            let whole = try await store.get(account: "acct", container: "c", name: "big", accountKey: key).data
            #expect(whole == (0..<64).flatMap { Fixtures.data(70_000 + $0) })
            #expect(try temps(container).count <= SparePool.perDirectory)
        }
    }
}
