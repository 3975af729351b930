import Testing
@testable import AtRestClient
import AtRestWire

/// How a disk import cuts a block into runs of whole 4 KiB chunks that are
/// all zeros (not sent) or not (sent), and how page ranges merge.
@Suite struct DiskRunsTests {
    func runs(_ block: [UInt8]) -> [[Int]] {
        DiskClient.runs(block).map { [$0.range.lowerBound, $0.range.upperBound, $0.zeros ? 0 : 1] }
    }

    @Test func zeroChunksAndDataChunksAlternate() {
        var block = [UInt8](repeating: 0, count: 6 * 4096)
        block[4096 + 4095] = 1          // chunk 1: its last byte
        block[3 * 4096] = 9             // chunk 3: its first byte
        block[4 * 4096 + 2000] = 7      // chunk 4
        #expect(runs(block) == [[0, 4096, 0], [4096, 8192, 1], [8192, 12288, 0], [12288, 20480, 1], [20480, 24576, 0]])
    }

    @Test func aShortLastChunkAndTheExtremes() {
        #expect(runs([UInt8](repeating: 0, count: 4096 + 512)) == [[0, 4608, 0]])
        #expect(runs([UInt8](repeating: 3, count: 4096 + 512)) == [[0, 4608, 1]])
        var block = [UInt8](repeating: 0, count: 4096 + 1024)
        block[4096 + 1023] = 1  // the last byte of the short chunk (not a multiple of 8 from the 8-byte loop's view)
        #expect(runs(block) == [[0, 4096, 0], [4096, 5120, 1]])
        #expect(runs([]) == [])
    }

    @Test func pageRangesMergeWhenTheyTouch() {
        var ranges: [DiskPageRange] = []
        DiskPageRange.append(DiskPageRange(offset: 0, length: 4096), to: &ranges)
        DiskPageRange.append(DiskPageRange(offset: 4096, length: 512), to: &ranges)
        DiskPageRange.append(DiskPageRange(offset: 8192, length: 4096), to: &ranges)
        #expect(ranges == [DiskPageRange(offset: 0, length: 4608), DiskPageRange(offset: 8192, length: 4096)])
    }
}
