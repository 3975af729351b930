import Testing
@testable import AtRestStorage

/// `ChunkedData.joined`: the bytes of an extent's run, sealed straight from
/// the write's array when its chunks are neighbours there, else copied.
@Suite struct ChunkEditTests {
    typealias Edit = ChunkedData.ChunkEdit

    static let source = (0 ..< 80).map { UInt8($0) }

    static func edits(_ source: [UInt8], at offsets: [Int]) -> ArraySlice<Edit> {
        ArraySlice(offsets.enumerated().map { Edit(index: UInt64(10 + $0.offset), range: 0 ..< 16, source: source, at: $0.element) })
    }

    static func address(_ bytes: ArraySlice<UInt8>) -> UnsafePointer<UInt8>? { bytes.withUnsafeBufferPointer { $0.baseAddress } }

    @Test func neighboursInOneArrayAreItsSliceNotACopy() {
        let joined = ChunkedData.joined(Self.edits(Self.source, at: [8, 24, 40, 56]))
        #expect(Array(joined) == Array(Self.source[8 ..< 72]))
        let start = Self.source.withUnsafeBufferPointer { $0.baseAddress! + 8 }
        #expect(Self.address(joined) == UnsafePointer(start), "the run was copied")
    }

    @Test func aGapOrAnotherArrayIsCopiedInOrder() {
        let gap = ChunkedData.joined(Self.edits(Self.source, at: [0, 32]))
        #expect(Array(gap) == Array(Self.source[0 ..< 16] + Self.source[32 ..< 48]))
        let other = (100 ..< 180).map { UInt8($0) }
        // Neighbouring indices, but of another array: never read across arrays.
        let mixed = Self.edits(Self.source, at: [0]) + Self.edits(other, at: [16])
        #expect(Array(ChunkedData.joined(mixed)) == Array(Self.source[0 ..< 16] + other[16 ..< 32]))
        let backwards = ChunkedData.joined(Self.edits(Self.source, at: [16, 0]))
        #expect(Array(backwards) == Array(Self.source[16 ..< 32] + Self.source[0 ..< 16]))
    }

    @Test func aClearHasNoBytes() {
        #expect(Edit(index: 1, range: 0 ..< 4).bytes == nil)
        #expect(Edit(index: 1, range: 4 ..< 8, source: Self.source, at: 10).bytes.map(Array.init) == [10, 11, 12, 13])
    }
}
