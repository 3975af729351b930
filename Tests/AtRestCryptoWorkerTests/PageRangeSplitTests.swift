@testable import AtRestCryptoWorker
import AtRestWire
import Testing

/// `DiskService.split`: PutPageRanges' payload cut into its ranges, from
/// parts that are one range each (as `DiskClient` sends them) and from
/// parts cut anywhere else.
@Suite struct PageRangeSplitTests {
    static let bytes = (0..<24).map { UInt8($0) }

    @Test(arguments: [[24], [4, 8, 12], [3, 5, 16], [1, 1, 22], [10, 14], [4, 4, 4, 4, 4, 4]])
    func rangesComeOutWholeAndInOrder(partSizes: [Int]) {
        var parts: [PayloadPart] = [], at = 0
        for size in partSizes {
            parts.append(PayloadPart(Array(Self.bytes[at ..< at + size])))
            at += size
        }
        let lengths = [4, 8, 12]
        let out = DiskService.split(parts, lengths: lengths)
        #expect(out == [Array(Self.bytes[0..<4]), Array(Self.bytes[4..<12]), Array(Self.bytes[12..<24])], "parts \(partSizes)")
    }
}
