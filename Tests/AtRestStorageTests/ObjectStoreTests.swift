import Testing
import AtRestCrypto
import Glibc
@testable import AtRestStorage

@Suite struct ObjectStoreTests {
    let key: AccountKey
    init() throws { key = try Fixtures.accountKey() }

    private func withStore(_ body: (ObjectStore, TempDirectory) async throws -> Void) async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let store = try ObjectStore(directory: dir.path)
        try await store.createContainer(account: "acct", name: "photos", accountKey: key)
        try await body(store, dir)
    }

    @Test func putGetMetadataSetMetadataDelete() async throws {
        try await withStore { store, _ in
            let data = Fixtures.data(300_000)
            let written = try await store.put(account: "acct", container: "photos", name: "2024/cat.jpg", data: data,
                                        userMetadata: ["camera": "x100"], contentType: "image/jpeg",
                                        contentHash: try SHA256.hash(data), accountKey: key)
            #expect(written.length == 300_000)
            let (meta, got) = try await store.get(account: "acct", container: "photos", name: "2024/cat.jpg", accountKey: key)
            #expect(got == data)
            #expect(meta.userMetadata == ["camera": "x100"])
            #expect(meta.contentHash == (try SHA256.hash(data)))
            let ranged = try await store.get(account: "acct", container: "photos", name: "2024/cat.jpg", range: 65_000..<140_000, accountKey: key)
            #expect(ranged.data == Array(data[65_000..<140_000]))

            try await store.setMetadata(account: "acct", container: "photos", name: "2024/cat.jpg", userMetadata: ["camera": "q2"],
                                  contentType: "image/x", accountKey: key)
            let after = try await store.get(account: "acct", container: "photos", name: "2024/cat.jpg", accountKey: key)
            #expect(after.data == data)
            #expect(after.metadata.userMetadata == ["camera": "q2"])
            #expect(after.metadata.contentType == "image/x")
            #expect(after.metadata.creationTime == meta.creationTime)

            try await store.delete(account: "acct", container: "photos", name: "2024/cat.jpg", accountKey: key)
            await #expect(throws: StorageError(.notFound, "object '2024/cat.jpg' does not exist in container 'photos'")) {
                try await store.get(account: "acct", container: "photos", name: "2024/cat.jpg", accountKey: key)
            }
        }
    }

    /// Reads into a buffer (a Get's reply: segments decrypted in place) give
    /// the bytes the streamed read gives, for ranges that start and end
    /// inside segments, on segment edges, across windows and, in a block
    /// list, across blocks; every byte of the buffer is written.
    @Test func readIntoABufferMatchesTheStreamedRead() async throws {
        try await withStore { store, _ in
            let plain = Fixtures.data(1_300_001, seed: 7)
            try await store.put(account: "acct", container: "photos", name: "plain", data: plain, accountKey: key)
            let blocks = [Fixtures.data(200_000, seed: 1), Fixtures.data(65_536, seed: 2), Fixtures.data(3, seed: 3), Fixtures.data(140_000, seed: 4)]
            for (index, block) in blocks.enumerated() {
                try await store.stageBlock(account: "acct", container: "photos", name: "list", blockID: [UInt8(index)], data: block, accountKey: key)
            }
            try await store.commitBlocks(account: "acct", container: "photos", name: "list", blockIDs: (0..<blocks.count).map { [UInt8($0)] }, accountKey: key)
            let list = blocks.flatMap { $0 }
            let segment: UInt64 = 65_536
            for (name, data) in [("plain", plain), ("list", list)] {
                let length = UInt64(data.count)
                let ranges: [Range<UInt64>] = [0..<length, 0..<1, 1..<segment, segment..<(2 * segment), 5..<(3 * segment + 7),
                                               (length - 1)..<length, 199_999..<265_540, 265_535..<265_539, 100..<100,
                                               (length / 2)..<length]
                for range in ranges {
                    var buffer: UnsafeMutableRawBufferPointer?
                    defer { buffer?.deallocate() }
                    try await store.read(account: "acct", container: "photos", name: name, range: range, accountKey: key) { asked in
                        #expect(asked == range)
                        let made = UnsafeMutableRawBufferPointer.allocate(byteCount: asked.count, alignment: 64)
                        made.initializeMemory(as: UInt8.self, repeating: 0xA5)  // what was not written would show
                        buffer = made
                        return made
                    }
                    let got = Array(UnsafeRawBufferPointer(buffer!))
                    #expect(got == Array(data[Int(range.lowerBound)..<Int(range.upperBound)]), "\(name) \(range)")
                }
            }
            // A buffer of the wrong size is refused, not overrun.
            await #expect(throws: StorageError.self) {
                var wrong: UnsafeMutableRawBufferPointer?
                defer { wrong?.deallocate() }
                try await store.read(account: "acct", container: "photos", name: "plain", range: 0..<10, accountKey: key) { _ in
                    let made = UnsafeMutableRawBufferPointer.allocate(byteCount: 9, alignment: 64)
                    wrong = made
                    return made
                }
            }
        }
    }

    @Test func overwriteKeepsOneVersionAndContentHashMismatchStoresNothing() async throws {
        try await withStore { store, dir in
            try await store.put(account: "acct", container: "photos", name: "n", data: [1, 2, 3], accountKey: key)
            try await store.put(account: "acct", container: "photos", name: "n", data: [4, 5], accountKey: key)
            #expect(try await store.get(account: "acct", container: "photos", name: "n", accountKey: key).data == [4, 5])
            // The replaced version is kept as a spare temp file (`SparePool`); a failed put adds none.
            let temps = dir.allFiles().filter { $0.contains(".tmp-") }
            #expect(temps.count == 1)
            do {
                try await store.put(account: "acct", container: "photos", name: "n", data: [9, 9, 9], contentHash: try SHA256.hash([9, 9, 8] as [UInt8]), accountKey: key)
                Issue.record("mismatching hash accepted")
            } catch let error as StorageError {
                #expect(error.code == .contentHashMismatch)
            }
            #expect(try await store.get(account: "acct", container: "photos", name: "n", accountKey: key).data == [4, 5])
            #expect(dir.allFiles().filter { $0.contains("/o-") }.count == 1)
            #expect(dir.allFiles().filter { $0.contains(".tmp-") } == temps)
        }
    }

    @Test func listingDecryptsNamesWithPrefixAndPages() async throws {
        try await withStore { store, _ in
            for name in ["b/2", "a/1", "b/1", "c", "b/3"] {
                try await store.put(account: "acct", container: "photos", name: name, data: Array(name.utf8), accountKey: key)
            }
            let all = try await store.list(account: "acct", container: "photos", accountKey: key)
            #expect(all.objects.map(\.name) == ["a/1", "b/1", "b/2", "b/3", "c"])
            #expect(all.nextPageToken == nil)
            let page1 = try await store.list(account: "acct", container: "photos", prefix: "b/", maxResults: 2, accountKey: key)
            #expect(page1.objects.map(\.name) == ["b/1", "b/2"])
            let page2 = try await store.list(account: "acct", container: "photos", prefix: "b/", pageToken: page1.nextPageToken, maxResults: 2, accountKey: key)
            #expect(page2.objects.map(\.name) == ["b/3"])
            #expect(page2.nextPageToken == nil)
        }
    }

    @Test func containers() async throws {
        try await withStore { store, _ in
            try await store.createContainer(account: "acct", name: "docs", accountKey: key)
            await #expect(throws: StorageError.self) { try await store.createContainer(account: "acct", name: "docs", accountKey: key) }
            #expect(try await store.listContainers(account: "acct", accountKey: key) == ["docs", "photos"])
            try await store.put(account: "acct", container: "docs", name: "x", data: [1], accountKey: key)
            await #expect(throws: StorageError.self) { try await store.deleteContainer(account: "acct", name: "docs", accountKey: key) }
            try await store.delete(account: "acct", container: "docs", name: "x", accountKey: key)
            try await store.deleteContainer(account: "acct", name: "docs", accountKey: key)
            #expect(try await store.listContainers(account: "acct", accountKey: key) == ["photos"])
            await #expect(throws: StorageError.self) { try await store.put(account: "acct", container: "docs", name: "x", data: [1], accountKey: key) }
        }
    }

    @Test func splicedObjectFileIsAnIntegrityError() async throws {
        try await withStore { store, dir in
            try await store.put(account: "acct", container: "photos", name: "victim", data: [1, 2, 3], accountKey: key)
            let victimFiles = Set(dir.allFiles())
            try await store.put(account: "acct", container: "photos", name: "attacker", data: [6, 6, 6], accountKey: key)
            let attacker = Set(dir.allFiles()).subtracting(victimFiles).first!
            let victim = victimFiles.first { $0.contains("/o-") }!
            #expect(rename(attacker, victim) == 0)
            do {
                _ = try await store.get(account: "acct", container: "photos", name: "victim", accountKey: key)
                Issue.record("spliced file was read")
            } catch let error as StorageError {
                #expect(error.code == .integrityFailure)
            }
        }
    }

    @Test func deadWritersTempFilesAreCleanedLiveOnesKept() async throws {
        try await withStore { store, dir in
            let container = try Fixtures.containerPath(store, "acct", "photos", key)
            let live = try AtomicFile(directory: container, owner: Fixtures.local(store).writer!.id)
            try [1, 2, 3].withUnsafeBytes { try live.append($0) }
            let dead = "\(container)/.tmp-deadbeef"
            let fd = open(dead, O_CREAT | O_WRONLY, 0o600); close(fd)
            let reopened = try ObjectStore(directory: dir.path)
            #expect(Fixtures.local(reopened).cleanedTempFiles == 1)
            #expect(!FileSystem.exists(dead))
            #expect(FileSystem.exists(live.tempPath))
            live.abort()
        }
    }

    @Test func otherAccountKeyFindsNothing() async throws {
        try await withStore { store, _ in
            try await store.put(account: "acct", container: "photos", name: "n", data: [1], accountKey: key)
            await #expect(throws: StorageError.self) { try await store.get(account: "acct", container: "photos", name: "n", accountKey: try Fixtures.accountKey()) }
        }
    }
}
