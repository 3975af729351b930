import Testing
import AtRestCrypto
@testable import AtRestStorage

@Suite struct ObjectFormatTests {
    let key: AccountKey
    init() throws { key = try Fixtures.accountKey() }

    @Test(arguments: [0, 1, 65_535, 65_536, 65_537, 3 * 65_536, 200_001])
    func inMemoryRoundTrip(_ count: Int) throws {
        let data = Fixtures.data(count)
        let meta = ObjectMetadata(name: "dir/file.bin", userMetadata: ["owner": "ana", "k": ""], contentType: "image/jpeg",
                                  creationTime: 1_700_000_000_123, contentHash: try SHA256.hash(data))
        let sealed = try ObjectFormat.seal(data, metadata: meta, accountKey: key, context: Fixtures.identity.context)
        let (opened, plain) = try ObjectFormat.open(sealed, accountKey: key, context: Fixtures.identity.context)
        #expect(plain == data)
        var expected = meta; expected.length = UInt64(count)
        #expect(opened == expected)
        #expect(sealed.count == (try Fixtures.headerSize(sealed, key: key)) + Int(SegmentLayout.sealedSize(length: UInt64(count), segmentSize: 65_536)))
    }

    @Test(arguments: [(0, 1), (1, 1), (1024, 1024), (1024, 100), (5000, 700), (5000, 5000), (4096, 3000)])
    func streamingRoundTripWithAnyChunking(_ count: Int, _ chunk: Int) throws {
        let data = Fixtures.data(count)
        let sealed = try Fixtures.sealStreaming(data, key: key, chunk: chunk)
        let reader = try ObjectReader(source: BufferSource(sealed), accountKey: key, context: Fixtures.identity.context)
        #expect(reader.length == UInt64(count))
        #expect(reader.metadata.name == "a/b.jpg")
        #expect(try reader.readAll() == data)
    }

    @Test func rangeReadsReturnExactlyTheSlice() throws {
        let data = Fixtures.data(5000)
        let sealed = try Fixtures.sealStreaming(data, key: key)
        let reader = try ObjectReader(source: BufferSource(sealed), accountKey: key, context: Fixtures.identity.context)
        for range in [0..<0, 0..<1, 1023..<1025, 1024..<2048, 100..<4999, 4990..<5000, 0..<5000, 3000..<3000] {
            var got: [UInt8] = []
            try reader.read(range: UInt64(range.lowerBound)..<UInt64(range.upperBound)) { got.append(contentsOf: $0) }
            #expect(got == Array(data[range]), "range \(range)")
        }
        #expect(throws: StorageError.self) { try reader.read(range: 4000..<5001) { _ in } }
    }
}
