import AtRestTesting
@testable import AtRestStorage
import Testing

/// Inputs the fuzz targets found crashing (docs/FUZZING.md), replayed
/// through the same calls; each is also in Fuzz/corpus/<target>.
@Suite struct FuzzRegressionTests {
    static func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            out.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return out
    }

    /// fuzz-object: a block manifest whose entry lengths add up past 2^64
    /// trapped in `length` (arithmetic overflow); now decode rejects it.
    @Test func blockManifestWhoseLengthsOverflowIsRejected() throws {
        let input = Self.bytes(
            "d5010000000000020000080000f8010008010038d4340000000000de01000000a2a2a2a2a2a2a2a2340000000000de01000000a2a2a2a2a2a2a2a2a2a2a2a2"
                + "000000000000002000000000000000000000000000fcffffff00000000c700000000080000a2a27aa2a2000000000000002000000000000000000000"
                + "000000fcffffff00000000c7000000000800000000ffffff0100000000000002ff")
        // Byte 0 is the target's mode (3: block manifest); the rest is the manifest.
        #expect(input[0] % 5 == 3)
        #expect(throws: StorageError.self) { try BlockManifest.decode(Array(input.dropFirst())) }
        // The same in a manifest the store writes: two entries of 2^63 bytes.
        let entry = BlockManifest.Entry(blockID: [1], length: 1 << 63, headerHash: [UInt8](repeating: 0, count: 32),
                                        contentHash: [UInt8](repeating: 0, count: 32), file: "s-a")
        let encoded = try BlockManifest(entries: [entry, entry]).encode()
        #expect(throws: StorageError.self) { try BlockManifest.decode(encoded) }
        #expect(try BlockManifest.decode(try BlockManifest(entries: [entry]).encode()).length == 1 << 63)
    }

    /// fuzz-filter: formatting an instant near Int64.min trapped (the input's
    /// first 8 bytes, big-endian, are the microseconds the target formats).
    @Test func datetimeFormatsEveryInt64() {
        let input = Self.bytes("800000000000000027902727")
        let micros = input.prefix(8).reduce(Int64(0)) { $0 << 8 | Int64($1) }
        #expect(micros == Int64.min)
        for value in [Int64.min, Int64.min + 1, -1, 0, 1, Int64.max - 1, Int64.max] {
            #expect(!TableLiteral.format(datetime: value).isEmpty)
        }
        #expect(TableLiteral.format(datetime: -1) == "1969-12-31T23:59:59.999999Z")
        #expect(TableLiteral.format(datetime: -86_400_000_000) == "1969-12-31T00:00:00.000000Z")
        #expect(TableLiteral.format(datetime: 1_000_000) == "1970-01-01T00:00:01.000000Z")
        let text = "2026-12-04T11:50:00.123456Z"
        #expect(TableLiteral.format(datetime: TableLiteral.datetime(text)!) == text)
    }

    /// fuzz-file-records: `ChunkedData.chunkIndex(ofKey:)` read any key
    /// `UInt64(_:radix: 16)` takes ("+000000001", "-000000000", capitals)
    /// as a chunk. A record under such a key, put into a region map by
    /// someone who can write the storage, sorts before the real chunks
    /// ('+' and '-' before '0'), so `storedChunks` stopped at it and the
    /// chunks after it were neither listed (`storedRanges`) nor removed by a
    /// clear. Only the form `chunkKey` writes is a chunk key now.
    @Test func onlyCanonicalChunkKeysNameChunks() async throws {
        for key in ["+000000001", "-000000000", "-000000001", "000000000A", "+0000fffff", "00000000 1", "000000001"] {
            #expect(ChunkedData.chunkIndex(ofKey: key) == nil, "'\(key)' read as a chunk")
        }
        for index: UInt64 in [0, 1, 0xa, 0xff_ffff_ffff] { #expect(ChunkedData.chunkIndex(ofKey: ChunkedData.chunkKey(index)) == index) }

        let dir = TempDirectory()
        defer { dir.remove() }
        let backend = try LocalBackend(directory: dir.path), key = try Fixtures.accountKey()
        let geometry = ChunkedData.Geometry(chunkSize: 64, chunksPerRegion: 16, mapPrefix: "fc", context: "file-chunk")
        let data = try ChunkedDataContract.object(backend, id: try ChunkedDataContract.newID(), key, geometry: geometry)
        try await data.write(at: 64, [UInt8](repeating: 1, count: 64))
        try await data.write(at: 5 * 64, [UInt8](repeating: 2, count: 64))
        // The input the fuzzer found, as a record key beside the real chunks (its value need not open).
        try await backend.apply(RecordBatch(sets: ["+0000fffff": [0], "-000000003": [0]]), to: try data.map(0))
        #expect(try await data.storedRanges(at: 0, length: 16 * 64) == [64..<128, 320..<384])
        try await data.clear(at: 0, length: 8 * 64)
        #expect(try await data.storedRanges(at: 0, length: 16 * 64) == [])
        #expect(try await data.read(at: 0, length: 8 * 64).bytes == [UInt8](repeating: 0, count: 8 * 64))
        let left = try await backend.recordKeys(try data.map(0), after: nil, limit: 100).keys
        #expect(left == ["+0000fffff", "-000000003"], "the clear removed \(left)")
    }

    /// fuzz-file-records: `FilePath` cut paths at the Character "/", but "/"
    /// followed by a combining mark ("/\u{301}") is one Character, so it
    /// was neither a separator nor a leading "/": "\u{301}" printed as
    /// "/\u{301}", which parsed as the one component "/\u{301}", and
    /// "a/\u{301}b" made a file named "a/\u{301}b" (a "/" inside a name) in
    /// the root instead of "\u{301}b" in "a". Paths are cut at the byte now,
    /// and no component may hold a "/".
    @Test func aSlashBeforeACombiningMarkSeparates() async throws {
        #expect(Self.bytes("09cc81") == [9] + Array("\u{301}".utf8))  // the input (mode 9: a path)
        #expect(try FilePath("\u{301}").components == ["\u{301}"])
        #expect(try FilePath("/\u{301}") == FilePath("\u{301}"))
        #expect(try FilePath(FilePath("\u{301}").description) == FilePath("\u{301}"))
        #expect(try FilePath("a/\u{301}b").components.map { Array($0.utf8) } == [Array("a".utf8), Array("\u{301}b".utf8)])
        #expect(throws: StorageError.self) { try FilePath.validate(component: "a/\u{301}b") }
        #expect(throws: StorageError.self) { try FilePath("a//\u{301}") }

        let dir = TempDirectory()
        defer { dir.remove() }
        let store = FileStore(backend: try LocalBackend(directory: dir.path)), key = try Fixtures.accountKey()
        try await store.createShare(account: "acct", name: "names", quota: 1 << 20, accountKey: key)
        await #expect(throws: StorageError.self) { try await store.createFile(account: "acct", share: "names", path: "a/\u{301}b", accountKey: key) }
        try await store.createDirectory(account: "acct", share: "names", path: "a", accountKey: key)
        try await store.createFile(account: "acct", share: "names", path: "a/\u{301}b", size: 1, accountKey: key)
        let root = try await store.listDirectory(account: "acct", share: "names", path: "/", accountKey: key).entries
        #expect(root.map { Array($0.name.utf8) } == [Array("a".utf8)])
        let inA = try await store.listDirectory(account: "acct", share: "names", path: "/a", accountKey: key).entries
        #expect(inA.map { Array($0.name.utf8) } == [Array("\u{301}b".utf8)])
        await #expect(throws: StorageError.self) { try await store.rename(account: "acct", share: "names", from: "a/\u{301}b", to: "x/\u{301}", accountKey: key) }
    }
}
