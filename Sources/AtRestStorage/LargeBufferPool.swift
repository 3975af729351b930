import Glibc
import Synchronization

/// Page-aligned multi-MiB buffers kept out of the malloc heap and reused
/// (the sealed blocks of `AlignedBuffer`).
///
/// A worker sealing 4 MiB blocks allocated a page-aligned 4 MiB + 4 KiB
/// buffer per block from the heap, between libzmq's 4 MiB frames and small
/// objects; its RSS rose in steps and never came down between puts
/// (docs/DATA-PATH.md "Against the machine's limits", session 14). Buffers
/// of at least `minimum` bytes are mapped here in whole MiB classes
/// (rounded up), returned to a free list when released and reused by the
/// next buffer of the same class; at most `keptBytes` stay free, the rest
/// is unmapped at once.
final class LargeBufferPool: Sendable {
    static let shared = LargeBufferPool()
    static let minimum = 1 << 20
    static let keptBytes = 64 << 20
    static let classSize = 1 << 20

    /// Free blocks by size, as addresses (plain integers cross the lock).
    private struct Free {
        var blocks: [Int: [UInt]] = [:]
        var bytes = 0
    }
    private let free = Mutex(Free())

    /// `capacity` bytes (a multiple of the page size), and the pooled
    /// allocation they start (nil when under `minimum`: an ordinary allocation).
    func take(_ capacity: Int) -> (UnsafeMutableRawBufferPointer, UnsafeMutableRawBufferPointer?) {
        guard capacity >= Self.minimum else {
            return (.allocate(byteCount: capacity, alignment: AlignedBuffer.alignment), nil)
        }
        let size = (capacity + Self.classSize - 1) / Self.classSize * Self.classSize
        let reused = free.withLock { free -> UInt? in
            guard let address = free.blocks[size]?.popLast() else { return nil }
            free.bytes -= size
            return address
        }
        let block = reused.map { UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(bitPattern: $0), count: size) } ?? Self.map(size)
        return (UnsafeMutableRawBufferPointer(rebasing: block[0..<capacity]), block)
    }

    /// Returns a pooled allocation (from `take`).
    func give(_ block: UnsafeMutableRawBufferPointer) {
        let address = UInt(bitPattern: block.baseAddress), size = block.count
        let kept = free.withLock { free -> Bool in
            guard free.bytes + size <= Self.keptBytes else { return false }
            free.blocks[size, default: []].append(address)
            free.bytes += size
            return true
        }
        if !kept { munmap(block.baseAddress, block.count) }
    }

    /// Bytes on the free list now.
    var freeBytes: Int { free.withLock { $0.bytes } }

    private static func map(_ size: Int) -> UnsafeMutableRawBufferPointer {
        let address = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let address, address != UnsafeMutableRawPointer(bitPattern: -1) else { fatalError("out of memory: mmap of \(size) bytes failed (errno \(errno))") }
        return UnsafeMutableRawBufferPointer(start: address, count: size)
    }
}
