import Testing
import AtRestCrypto
import Glibc
@testable import AtRestStorage

/// `ObjectUpload.write(whole:)`: contents from 1 MiB on are sealed into one
/// buffer and written around the page cache; the file must be exactly what
/// the streaming writer produces in size and readability, hashes are
/// checked before anything is published, and no padding survives.
@Suite struct WholeWriteTests {
    let key: AccountKey
    init() throws { key = try Fixtures.accountKey() }

    private func withStore(_ body: (ObjectStore, String) throws -> Void) throws { try Fixtures.withStore(key, body) }

    private func size(_ path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : -1
    }

    @Test(arguments: [ObjectUpload.wholeWriteThreshold, ObjectUpload.wholeWriteThreshold + 12_345, 4 << 20])
    func wholeWritesReadBackAndMatchTheStreamingSize(length: Int) throws {
        try withStore { store, container in
            let data = Fixtures.data(length)
            let hash = try SHA256.hash(data)
            let upload = try store.beginPut(account: "acct", container: "c", name: "w", contentHash: hash, accountKey: key)
            let written = try data.withUnsafeBytes { try upload.write(whole: $0) }
            #expect(written.length == UInt64(length) && written.contentHash == hash)
            let streamed = try store.put(account: "acct", container: "c", name: "s", data: data, contentHash: hash, accountKey: key)
            let wholePath = "\(container)/o-\(try store.objectHash("c", "w", key))"
            let streamedPath = "\(container)/o-\(try store.objectHash("c", "s", key))"
            #expect(size(wholePath) == size(streamedPath), "no alignment padding left in the file")
            let (metadata, got) = try store.get(account: "acct", container: "c", name: "w", accountKey: key)
            #expect(got == data && metadata.contentHash == streamed.contentHash)
            let middle = UInt64(length / 2)..<UInt64(length / 2 + 70_000)
            #expect(try store.get(account: "acct", container: "c", name: "w", range: middle, accountKey: key).data
                    == Array(data[Int(middle.lowerBound)..<Int(middle.upperBound)]))
            #expect(!TempDirectory().contents(wholePath).contains(subsequence: Array(data[1000..<1064])), "plaintext on disk")
        }
    }

    @Test func aWrongHashPublishesNothing() throws {
        try withStore { store, container in
            let data = Fixtures.data(2 << 20)
            let upload = try store.beginStageBlock(account: "acct", container: "c", name: "n", blockID: [1],
                                                   contentHash: try SHA256.hash(Fixtures.data(10)), accountKey: key)
            #expect(throws: StorageError.self) { _ = try data.withUnsafeBytes { try upload.write(whole: $0) } }
            #expect(try FileSystem.list(container).filter { $0 != "container" }.isEmpty, "a temp or staged file was left")
        }
    }

    @Test func smallContentsTakeTheStreamingPath() throws {
        try withStore { store, _ in
            let data = Fixtures.data(1000)
            let upload = try store.beginPut(account: "acct", container: "c", name: "small", accountKey: key)
            _ = try data.withUnsafeBytes { try upload.write(whole: $0) }
            #expect(try store.get(account: "acct", container: "c", name: "small", accountKey: key).data == data)
        }
    }
}
