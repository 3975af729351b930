import Testing
import AtRestCrypto
import Glibc
@testable import AtRestStorage

/// Whole-object sealing (`ObjectSealing`): content passed in one piece is
/// sealed in place into one aligned buffer, which the local backend writes
/// around the page cache from 1 MiB on; the stored object must be exactly
/// what sealing pieces produces in size and readability, hashes are checked
/// before anything is written, and no padding survives.
@Suite struct WholeWriteTests {
    let key: AccountKey
    init() throws { key = try Fixtures.accountKey() }

    private func withStore(_ body: (ObjectStore, String) async throws -> Void) async throws { try await Fixtures.withStore(key, body) }

    private func size(_ path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : -1
    }

    /// Writes `data` fed in 100 000-byte pieces (the streaming path).
    private func putInPieces(_ store: ObjectStore, _ name: String, _ data: [UInt8], hash: [UInt8]?) async throws -> ObjectMetadata {
        try await store.put(account: "acct", container: "c", name: name, contentHash: hash, accountKey: key, length: data.count) { append in
            try data.withUnsafeBytes { all in
                var at = 0
                while at < all.count {
                    try append(UnsafeRawBufferPointer(rebasing: all[at..<min(at + 100_000, all.count)]))
                    at += 100_000
                }
            }
        }
    }

    @Test(arguments: [LocalUpload.wholeWriteThreshold, LocalUpload.wholeWriteThreshold + 12_345, 4 << 20, 1000])
    func wholeWritesReadBackAndMatchTheStreamingSize(length: Int) async throws {
        try await withStore { store, container in
            let data = Fixtures.data(length)
            let hash = try SHA256.hash(data)
            let written = try await store.put(account: "acct", container: "c", name: "w", data: data, contentHash: hash, accountKey: key)
            #expect(written.length == UInt64(length) && written.contentHash == hash)
            let streamed = try await putInPieces(store, "s", data, hash: hash)
            let wholePath = "\(container)/o-\(try store.objectHash("c", "w", key))"
            let streamedPath = "\(container)/o-\(try store.objectHash("c", "s", key))"
            #expect(size(wholePath) == size(streamedPath), "no alignment padding left in the file")
            for name in ["w", "s"] {
                let (metadata, got) = try await store.get(account: "acct", container: "c", name: name, accountKey: key)
                #expect(got == data && metadata.contentHash == streamed.contentHash)
                let middle = UInt64(length / 2)..<UInt64(min(length, length / 2 + 70_000))
                #expect(try await store.get(account: "acct", container: "c", name: name, range: middle, accountKey: key).data
                        == Array(data[Int(middle.lowerBound)..<Int(middle.upperBound)]))
            }
            #expect(!TempDirectory().contents(wholePath).contains(subsequence: Array(data[100..<164])), "plaintext on disk")
        }
    }

    /// Appends of `AtomicFile.directWriteMinimum` and more go to the file
    /// directly, smaller ones through its gathering buffer: mixed, gathered
    /// bytes must reach the file before a direct write that follows them.
    @Test func smallAndLargeAppendsLandInOrder() throws {
        let directory = TempDirectory()
        defer { directory.remove() }
        let pieces = [1000, 200_000, 5, AtomicFile.directWriteMinimum, 70_000, AtomicFile.directWriteMinimum - 1, 1 << 20, 300_000, 17]
        let data = Fixtures.data(pieces.reduce(0, +), seed: 9)
        let file = try AtomicFile(directory: directory.path, owner: "test")
        defer { file.abort() }
        try data.withUnsafeBytes { all in
            var at = 0
            for piece in pieces {
                try file.append(UnsafeRawBufferPointer(rebasing: all[at ..< at + piece]))
                at += piece
            }
        }
        try file.writeOut()
        #expect(directory.contents(file.tempPath) == data)
    }

    /// The sealers' buffers are not zeroed before sealing overwrites them,
    /// but the page padding an O_DIRECT write carries must still be zeros,
    /// also in memory the allocator hands back dirty.
    @Test func overwrittenBuffersStillHaveZeroPadding() {
        for count in [1, 4095, 4097, (4 << 20) + 100] {
            do {
                let dirty = AlignedBuffer(overwrittenCount: count + 4096)
                dirty.mutableBytes.initializeMemory(as: UInt8.self, repeating: 0xA5)
            }
            let buffer = AlignedBuffer(overwrittenCount: count)
            buffer.mutableBytes.initializeMemory(as: UInt8.self, repeating: 1)
            buffer.withPaddedBytes { padded in
                #expect(padded.count % AlignedBuffer.alignment == 0 && padded.count >= count)
                #expect(padded[count...].allSatisfy { $0 == 0 }, "padding after \(count) bytes")
            }
        }
    }

    @Test func aWrongHashOrLengthWritesNothing() async throws {
        try await withStore { store, container in
            let data = Fixtures.data(2 << 20)
            let wrong = try SHA256.hash(Fixtures.data(10))
            await #expect(throws: StorageError.self) {
                try await store.stageBlock(account: "acct", container: "c", name: "n", blockID: [1], data: data, contentHash: wrong, accountKey: key)
            }
            await #expect(throws: StorageError.self) { try await putInPieces(store, "p", data, hash: wrong) }
            // More or fewer bytes than declared.
            await #expect(throws: StorageError.self) {
                try await store.put(account: "acct", container: "c", name: "q", accountKey: key, length: 10) { append in
                    try data.withUnsafeBytes { try append(UnsafeRawBufferPointer(rebasing: $0[0..<5])) }
                }
            }
            await #expect(throws: StorageError.self) {
                try await store.put(account: "acct", container: "c", name: "q", accountKey: key, length: 10) { append in
                    try data.withUnsafeBytes { try append(UnsafeRawBufferPointer(rebasing: $0[0..<6])); try append(UnsafeRawBufferPointer(rebasing: $0[0..<6])) }
                }
            }
            #expect(try FileSystem.list(container).filter { $0 != "container" && !$0.hasPrefix(".") }.isEmpty, "an object was written")
            #expect(try FileSystem.list(container).filter { $0.hasPrefix(AtomicFile.tempPrefix) }.isEmpty, "a temp file was left")
        }
    }
}
