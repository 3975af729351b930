import Testing
@testable import AtRestClient

/// How an upload is cut into blocks: a smaller first block (so the first
/// worker starts early), then full blocks, covering the data exactly once.
@Suite struct BlockPlanTests {
    func sizes(_ total: UInt64, _ blockSize: UInt64) -> [UInt64] {
        BlobClient.blockRanges(total: total, blockSize: blockSize).map { $0.upperBound - $0.lowerBound }
    }

    @Test func firstBlockIsAQuarterOfAFullOne() {
        let mib: UInt64 = 1 << 20
        #expect(sizes(10 * mib, 4 * mib) == [mib, 4 * mib, 4 * mib, mib])
        #expect(sizes(5 * mib, 4 * mib) == [mib, 4 * mib])
        #expect(sizes(5 * mib + 1, 4 * mib) == [mib, 4 * mib, 1])
    }

    @Test func firstBlockIsAtLeast64KiBOrTheBlockSize() {
        #expect(sizes(300 << 10, 100 << 10) == [64 << 10, 100 << 10, 100 << 10, 36 << 10])
        #expect(sizes(40 << 10, 16 << 10) == [16 << 10, 16 << 10, 8 << 10])
        #expect(sizes(3, 1) == [1, 1, 1])
    }

    @Test func smallAndEmptyUploads() {
        #expect(sizes(0, 4 << 20).isEmpty)
        #expect(sizes(1, 4 << 20) == [1])
        #expect(sizes(1 << 20, 4 << 20) == [1 << 20])
    }

    @Test func rangesTileTheDataWithoutGapsOrOverlap() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let blockSize = UInt64.random(in: 1...(1 << 20), using: &generator)
            let total = UInt64.random(in: 0...(8 << 20), using: &generator)
            let ranges = BlobClient.blockRanges(total: total, blockSize: blockSize)
            var offset: UInt64 = 0
            for range in ranges {
                #expect(range.lowerBound == offset && !range.isEmpty && range.upperBound - range.lowerBound <= blockSize)
                offset = range.upperBound
            }
            #expect(offset == total, "total \(total), block \(blockSize)")
        }
    }
}
