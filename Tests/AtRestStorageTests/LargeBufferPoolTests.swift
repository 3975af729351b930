import Testing
@testable import AtRestStorage

/// `LargeBufferPool`: multi-MiB buffers are mapped in whole-MiB classes and
/// reused after release, at most `keptBytes` are kept free, small ones are
/// ordinary allocations; `AlignedBuffer` over it still pads with zeros.
@Suite struct LargeBufferPoolTests {
    @Test func reusesMappedBlocksOfTheSameClass() {
        let pool = LargeBufferPool()
        let capacity = (4 << 20) + 4096
        let (first, block) = pool.take(capacity)
        let pooled = try! #require(block)
        #expect(first.count == capacity && pooled.count == 5 << 20, "rounded up to whole MiB")
        #expect(Int(bitPattern: first.baseAddress) % AlignedBuffer.alignment == 0)
        first.storeBytes(of: 0xAB, toByteOffset: capacity - 1, as: UInt8.self)
        pool.give(pooled)
        #expect(pool.freeBytes == 5 << 20)
        let (again, sameBlock) = pool.take(capacity + 4096)  // the same 5 MiB class
        #expect(sameBlock?.baseAddress == pooled.baseAddress, "the freed block of the class is reused")
        #expect(again.count == capacity + 4096 && pool.freeBytes == 0)
        let (other, otherBlock) = pool.take(capacity)
        #expect(otherBlock?.baseAddress != pooled.baseAddress, "a block in use is not handed out twice")
        pool.give(sameBlock!)
        pool.give(otherBlock!)
        _ = other

        let (small, none) = pool.take(64 << 10)
        #expect(none == nil && small.count == 64 << 10, "under a MiB: an ordinary allocation")
        small.deallocate()
    }

    @Test func keepsAtMostKeptBytesFree() {
        let pool = LargeBufferPool()
        let size = 8 << 20
        let blocks = (0..<(LargeBufferPool.keptBytes / size + 3)).map { _ in pool.take(size).1! }
        for block in blocks { pool.give(block) }
        #expect(pool.freeBytes == LargeBufferPool.keptBytes, "the blocks beyond keptBytes were unmapped")
        let again = (0..<blocks.count).map { _ in pool.take(size).1! }
        #expect(pool.freeBytes == 0)
        for block in again { pool.give(block) }
    }

    @Test func alignedBuffersFromThePoolArePaddedWithZeros() {
        for _ in 0..<3 {  // the second and third reuse the first one's block
            let count = (2 << 20) + 100
            let buffer = AlignedBuffer(overwrittenCount: count)
            buffer.mutableBytes.initializeMemory(as: UInt8.self, repeating: 0xFF)
            buffer.withPaddedBytes { padded in
                #expect(padded.count == (2 << 20) + AlignedBuffer.alignment)
                #expect(padded[count...].allSatisfy { $0 == 0 })
                #expect(padded[..<count].allSatisfy { $0 == 0xFF })
            }
        }
        let zeroed = AlignedBuffer(count: (2 << 20) + 100)
        #expect(zeroed.bytes.allSatisfy { $0 == 0 }, "init(count:) zeroes a reused block")
    }
}
