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
}
