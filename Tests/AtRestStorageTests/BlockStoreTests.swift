import Testing
import AtRestCrypto
@testable import AtRestStorage

@Suite struct BlockStoreTests {
    let key: AccountKey
    init() throws { key = try Fixtures.accountKey() }

    @Test func blocksStagedBySeparateStoresCommitWithoutReencryption() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let setup = try ObjectStore(directory: dir.path)
        try await setup.createContainer(account: "acct", name: "big", accountKey: key)
        let blocks = [Fixtures.data(100_000, seed: 1), Fixtures.data(65_536, seed: 2), Fixtures.data(7, seed: 3)]
        // Each block through its own store instance, as separate workers would.
        for (i, block) in blocks.enumerated() {
            let worker = try ObjectStore(directory: dir.path)
            try await worker.stageBlock(account: "acct", container: "big", name: "video.mp4", blockID: [UInt8(i)], data: block,
                                  contentHash: try SHA256.hash(block), accountKey: key)
        }
        try await setup.stageBlock(account: "acct", container: "big", name: "video.mp4", blockID: [9], data: [1, 2], accountKey: key)
        let stagedBytes = dir.allFiles().filter { $0.contains("/s-") }.map(dir.contents)
        let meta = try await setup.commitBlocks(account: "acct", container: "big", name: "video.mp4", blockIDs: [[0], [1], [2]],
                                          userMetadata: ["k": "v"], accountKey: key)
        let whole = blocks.flatMap { $0 }
        #expect(meta.length == UInt64(whole.count))
        // Committed block files are the staged files themselves, byte for byte.
        let committedBytes = dir.allFiles().filter { $0.contains("/s-") }.map(dir.contents)
        #expect(committedBytes.count == 4, "the three committed in place, and the one never committed")
        #expect(committedBytes.allSatisfy { stagedBytes.contains($0) })

        let got = try await setup.get(account: "acct", container: "big", name: "video.mp4", accountKey: key)
        #expect(got.data == whole)
        #expect(got.metadata.userMetadata == ["k": "v"])
        for range in [0..<10, 99_990..<100_010, 100_000..<165_536, 165_530..<165_543, 0..<165_543] {
            let part = try await setup.get(account: "acct", container: "big", name: "video.mp4",
                                     range: UInt64(range.lowerBound)..<UInt64(range.upperBound), accountKey: key)
            #expect(part.data == Array(whole[range]), "range \(range)")
        }
        #expect(try await setup.list(account: "acct", container: "big", accountKey: key).objects.map(\.name) == ["video.mp4"])

        // The uncommitted block is garbage after the retention; committed ones are not.
        #expect(try await setup.collectGarbage(account: "acct", container: "big", retentionSeconds: 0, accountKey: key) == 1)
        #expect(try await setup.get(account: "acct", container: "big", name: "video.mp4", accountKey: key).data == whole)

        // Overwriting with a plain put removes the old block files.
        try await setup.put(account: "acct", container: "big", name: "video.mp4", data: [5], accountKey: key)
        #expect(!dir.allFiles().contains { $0.contains("/s-") })
    }

    @Test func swappedBlockFileIsDetected() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let store = try ObjectStore(directory: dir.path)
        try await store.createContainer(account: "acct", name: "c", accountKey: key)
        for i in 0..<2 { try await store.stageBlock(account: "acct", container: "c", name: "o", blockID: [UInt8(i)], data: Fixtures.data(1000, seed: UInt8(i)), accountKey: key) }
        try await store.commitBlocks(account: "acct", container: "c", name: "o", blockIDs: [[0], [1]], accountKey: key)
        let files = dir.allFiles().filter { $0.contains("/s-") }.sorted()
        let a = dir.contents(files[0]), b = dir.contents(files[1])
        let fa = fopen(files[0], "wb"); fwrite(b, 1, b.count, fa); fclose(fa)
        let fb = fopen(files[1], "wb"); fwrite(a, 1, a.count, fb); fclose(fb)
        await #expect(throws: StorageError.self) { try await store.get(account: "acct", container: "c", name: "o", accountKey: key) }
        await #expect(throws: StorageError.self) { try await store.commitBlocks(account: "acct", container: "c", name: "o", blockIDs: [[7]], accountKey: key) }
    }

    /// Commit names the staged files in place: no block file is written,
    /// restaging an id afterwards leaves the committed object alone, the
    /// same stagings cannot be committed twice, and the latest staging of an
    /// id is the one committed.
    @Test func commitReferencesStagedFilesInPlace() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let store = try ObjectStore(directory: dir.path)
        try await store.createContainer(account: "acct", name: "c", accountKey: key)
        try await store.stageBlock(account: "acct", container: "c", name: "o", blockID: [0], data: [1, 1, 1], accountKey: key)
        try await store.stageBlock(account: "acct", container: "c", name: "o", blockID: [0], data: [2, 2], accountKey: key)  // restaged: this one counts
        try await store.stageBlock(account: "acct", container: "c", name: "o", blockID: [1], data: [3], accountKey: key)
        let before = Set(dir.allFiles())
        try await store.commitBlocks(account: "acct", container: "c", name: "o", blockIDs: [[0], [1], [0]], accountKey: key)
        #expect(try await store.get(account: "acct", container: "c", name: "o", accountKey: key).data == [2, 2, 3, 2, 2])
        let added = Set(dir.allFiles()).subtracting(before)
        #expect(added.count == 1 && added.allSatisfy { $0.contains("/o-") }, "only the manifest is written: \(added)")
        await #expect(throws: StorageError.self) { try await store.commitBlocks(account: "acct", container: "c", name: "o", blockIDs: [[1]], accountKey: key) }
        try await store.stageBlock(account: "acct", container: "c", name: "o", blockID: [1], data: [9], accountKey: key)
        #expect(try await store.get(account: "acct", container: "c", name: "o", accountKey: key).data == [2, 2, 3, 2, 2])
        // The superseded staging of [0] and the new one of [1] are garbage; the committed ones are not.
        #expect(try await store.collectGarbage(account: "acct", container: "c", retentionSeconds: 0, accountKey: key) == 2)
        #expect(try await store.get(account: "acct", container: "c", name: "o", accountKey: key).data == [2, 2, 3, 2, 2])
        // Deleting the object removes its block files.
        try await store.delete(account: "acct", container: "c", name: "o", accountKey: key)
        #expect(!dir.allFiles().contains { $0.contains("/s-") || $0.contains("/o-") })
    }

    /// A commit sent again after it landed (a retry, or the broker's
    /// re-dispatch of a commit whose worker died before replying) answers
    /// the committed version and writes nothing; the same blocks with other
    /// metadata, or another list of them, are still refused.
    @Test func aCommitSentAgainAnswersTheCommittedVersion() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let store = try ObjectStore(directory: dir.path)
        try await store.createContainer(account: "acct", name: "c", accountKey: key)
        try await store.stageBlock(account: "acct", container: "c", name: "o", blockID: [0], data: [1, 1], accountKey: key)
        try await store.stageBlock(account: "acct", container: "c", name: "o", blockID: [1], data: [2], accountKey: key)
        let ids: [[UInt8]] = [[0], [1], [0]]
        let first = try await store.commitBlocks(account: "acct", container: "c", name: "o", blockIDs: ids, userMetadata: ["k": "v"],
                                                 contentType: "text/plain", accountKey: key)
        let files = dir.allFiles().sorted(), bytes = files.map(dir.contents)
        let again = try await store.commitBlocks(account: "acct", container: "c", name: "o", blockIDs: ids, userMetadata: ["k": "v"],
                                                 contentType: "text/plain", accountKey: key)
        #expect(again == first)
        #expect(dir.allFiles().sorted() == files && files.map(dir.contents) == bytes, "a replayed commit wrote something")

        for (blockIDs, metadata, type) in [(ids, ["k": "w"], "text/plain"), (ids, ["k": "v"], "text/html"), ([[0], [1]], ["k": "v"], "text/plain")] {
            await #expect {
                try await store.commitBlocks(account: "acct", container: "c", name: "o", blockIDs: blockIDs, userMetadata: metadata,
                                             contentType: type, accountKey: key)
            } throws: { ($0 as? StorageError)?.code == .invalidArgument && "\($0)".contains("already committed") }
        }
        #expect(try await store.get(account: "acct", container: "c", name: "o", accountKey: key).data == [1, 1, 2, 1, 1])
    }

    /// Stagings of one id made one after the other, many within one
    /// millisecond, commit the last one (a stamp of ms and random bits
    /// once ordered them by chance), and the stage clock never goes back.
    @Test func rapidRestagingCommitsTheLastStaging() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let store = try ObjectStore(directory: dir.path)
        try await store.createContainer(account: "acct", name: "c", accountKey: key)
        for i in 0..<64 {
            try await store.stageBlock(account: "acct", container: "c", name: "o", blockID: [0], data: [UInt8(i)], accountKey: key)
        }
        try await store.commitBlocks(account: "acct", container: "c", name: "o", blockIDs: [[0]], accountKey: key)
        #expect(try await store.get(account: "acct", container: "c", name: "o", accountKey: key).data == [63])

        let clock = StageClock()
        let first = clock.next(now: 5_000), same = clock.next(now: 5_000), back = clock.next(now: 4_000)
        #expect(first == (5_000, 0) && same == (5_000, 1) && back == (5_000, 2))
        #expect(clock.next(now: 5_001) == (5_001, 0))
    }

    /// A block list as earlier releases wrote it (manifest version 1, block
    /// files `b-<object hash>-<commit id>-<n>`) still reads, is kept by the
    /// collector, and its block files go when it is replaced.
    @Test func versionOneBlockListsStillRead() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let store = try ObjectStore(directory: dir.path)
        try await store.createContainer(account: "acct", name: "c", accountKey: key)
        let blocks = [Fixtures.data(70_000, seed: 4), Fixtures.data(9, seed: 5)]
        var manifest = BlockManifest(version: 1, commitID: "0123456789abcdef", entries: [])
        let id = try store.containerID("acct", "c", key), hash = try store.objectHash("c", "old", key)
        for (i, block) in blocks.enumerated() {
            let metadata = try await store.stageBlock(account: "acct", container: "c", name: "old", blockID: [UInt8(i)], data: block, accountKey: key)
            let staged = try #require(try await store.latestStaging(id, try store.stagedPrefix("c", "old", [UInt8(i)], key)))
            let bytes = try await store.backend.get(staged).bytes
            try await store.backend.delete(staged, condition: .none)
            let name = try BackendName(id, manifest.blockFileName(objectHash: hash, index: i))
            try await store.backend.put(name, bytes)
            let object = try await StoredObject.open(store.backend, name)
            let reader = try await object.reader(accountKey: key, context: ObjectIdentity(account: "acct", container: "c", kind: .block).context)
            manifest.entries.append(.init(blockID: [UInt8(i)], length: UInt64(block.count), headerHash: try SHA256.hash(reader.cipher.fixedHeader),
                                          contentHash: metadata.contentHash))
        }
        let metadata = ObjectMetadata(name: "old", length: manifest.length, creationTime: 1, contentHash: try manifest.compositeHash())
        let sealed = try manifest.encode().withUnsafeBytes {
            try ObjectSealing.seal(whole: $0, metadata: metadata, identity: ObjectIdentity(account: "acct", container: "c"), flags: .manifest,
                                   accountKey: key, expectedHash: nil)
        }
        try await store.write(sealed.buffer, to: try store.objectName(id, hash), condition: .mustNotExist)
        #expect(try await store.get(account: "acct", container: "c", name: "old", accountKey: key).data == blocks.flatMap { $0 })
        #expect(try await store.collectGarbage(account: "acct", container: "c", retentionSeconds: 0, accountKey: key) == 0)
        #expect(try await store.get(account: "acct", container: "c", name: "old", range: 69_995..<70_005, accountKey: key).data
                == Array(blocks.flatMap { $0 }[69_995..<70_005]))
        try await store.put(account: "acct", container: "c", name: "old", data: [7], accountKey: key)
        #expect(!dir.allFiles().contains { $0.contains("/b-") })
    }
}

import Glibc
