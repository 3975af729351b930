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

    @Test func aClassWithNothingFreeReusesALargerBlock() {
        let pool = LargeBufferPool()
        let (_, large) = pool.take(5 << 20)
        pool.give(large!)
        let (buffer, block) = pool.take(4 << 20)
        #expect(block?.baseAddress == large?.baseAddress && block?.count == 5 << 20, "the free 5 MiB block serves a 4 MiB buffer")
        #expect(buffer.count == 4 << 20 && pool.freeBytes == 0)
        let (_, second) = pool.take(4 << 20)
        #expect(second?.baseAddress != large?.baseAddress && second?.count == 4 << 20, "a block in use is not handed out twice")
        pool.give(block!)
        pool.give(second!)
        #expect(pool.freeBytes == 9 << 20)
        let (_, again) = pool.take(5 << 20)
        #expect(again?.baseAddress == large?.baseAddress, "the 5 MiB block went back to its own class")
        pool.give(again!)
    }

    /// The puts' 5 MiB blocks fill the budget; 4 MiB blocks released after
    /// them must still be kept (evicting 5 MiB ones), or every get maps (and
    /// the kernel faults in and zeroes) a fresh block.
    @Test func releasedBlocksEvictFreeBlocksOfOtherClasses() {
        let pool = LargeBufferPool()
        let five = (0..<12).map { _ in pool.take(5 << 20).1! }
        let four = (0..<4).map { _ in pool.take(4 << 20).1! }
        for block in five { pool.give(block) }
        #expect(pool.freeBytes == 60 << 20)
        for block in four { pool.give(block) }
        #expect(pool.freeBytes == (4 * 4 + 9 * 5) << 20, "three 5 MiB blocks evicted to keep the four 4 MiB ones")
        let again = (0..<4).map { _ in pool.take(4 << 20).1! }
        #expect(Set(again.map(\.baseAddress)) == Set(four.map(\.baseAddress)), "each released 4 MiB block was kept")
        for block in again { pool.give(block) }

        let same = LargeBufferPool()
        let blocks = (0..<13).map { _ in same.take(5 << 20).1! }
        for block in blocks { same.give(block) }
        #expect(same.freeBytes == 60 << 20, "with nothing of another class free, a block over the budget is unmapped")
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
