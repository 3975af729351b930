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
        // Committed block files are the staged ciphertext, byte for byte.
        let committedBytes = dir.allFiles().filter { $0.contains("/b-") }.map(dir.contents)
        #expect(committedBytes.count == 3)
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
        #expect(!dir.allFiles().contains { $0.contains("/b-") })
    }

    @Test func swappedBlockFileIsDetected() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let store = try ObjectStore(directory: dir.path)
        try await store.createContainer(account: "acct", name: "c", accountKey: key)
        for i in 0..<2 { try await store.stageBlock(account: "acct", container: "c", name: "o", blockID: [UInt8(i)], data: Fixtures.data(1000, seed: UInt8(i)), accountKey: key) }
        try await store.commitBlocks(account: "acct", container: "c", name: "o", blockIDs: [[0], [1]], accountKey: key)
        let files = dir.allFiles().filter { $0.contains("/b-") }.sorted()
        let a = dir.contents(files[0]), b = dir.contents(files[1])
        let fa = fopen(files[0], "wb"); fwrite(b, 1, b.count, fa); fclose(fa)
        let fb = fopen(files[1], "wb"); fwrite(a, 1, a.count, fb); fclose(fb)
        await #expect(throws: StorageError.self) { try await store.get(account: "acct", container: "c", name: "o", accountKey: key) }
        await #expect(throws: StorageError.self) { try await store.commitBlocks(account: "acct", container: "c", name: "o", blockIDs: [[7]], accountKey: key) }
    }
}

import Glibc
