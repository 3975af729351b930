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
/// next buffer of the same class (or, when that class has none free, of a
/// larger one); at most `keptBytes` stay free.
///
/// The budget follows the buffers in use: a released block that does not fit
/// evicts free blocks of other classes first, and is unmapped itself only
/// when the free list holds nothing else. A budget kept first come, first
/// served stayed full of the puts' 5 MiB blocks (4 MiB + a page) while the
/// gets that followed took and unmapped a fresh 4 MiB block per range, each
/// faulted in and zeroed by the kernel page by page (docs/DATA-PATH.md
/// "Against the machine's limits", session 17).
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
        let reused = free.withLock { free -> (address: UInt, size: Int)? in
            // The class itself, else the smallest larger class with a block free.
            guard let found = free.blocks[size]?.isEmpty == false ? size
                    : free.blocks.filter({ $0.key > size && !$0.value.isEmpty }).keys.min(),
                  let address = free.blocks[found]?.popLast() else { return nil }
            free.bytes -= found
            return (address, found)
        }
        let block = reused.map { UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(bitPattern: $0.address), count: $0.size) } ?? Self.map(size)
        return (UnsafeMutableRawBufferPointer(rebasing: block[0..<capacity]), block)
    }

    /// Returns a pooled allocation (from `take`).
    func give(_ block: UnsafeMutableRawBufferPointer) {
        let address = UInt(bitPattern: block.baseAddress), size = block.count
        let unmapped = free.withLock { free -> [(address: UInt, size: Int)] in
            var evicted: [(address: UInt, size: Int)] = []
            // Other classes' free blocks make room first, the largest first.
            if free.bytes + size > Self.keptBytes {
                for other in free.blocks.keys.sorted(by: >) where other != size {
                    while free.bytes + size > Self.keptBytes, let old = free.blocks[other]?.popLast() {
                        free.bytes -= other
                        evicted.append((old, other))
                    }
                    if free.blocks[other]?.isEmpty == true { free.blocks[other] = nil }
                }
            }
            guard free.bytes + size <= Self.keptBytes else { return evicted + [(address, size)] }
            free.blocks[size, default: []].append(address)
            free.bytes += size
            return evicted
        }
        for block in unmapped { munmap(UnsafeMutableRawPointer(bitPattern: block.address), block.size) }
    }

    /// Bytes on the free list now.
    var freeBytes: Int { free.withLock { $0.bytes } }

    private static func map(_ size: Int) -> UnsafeMutableRawBufferPointer {
        let address = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let address, address != UnsafeMutableRawPointer(bitPattern: -1) else { fatalError("out of memory: mmap of \(size) bytes failed (errno \(errno))") }
        return UnsafeMutableRawBufferPointer(start: address, count: size)
    }
}
