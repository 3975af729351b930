/// The rules of disk calls (docs/FORMAT.md "Disks (mutable objects)");
/// every violation is `StorageError(.invalidArgument)` naming the rule.
public enum DiskLimits {
    /// Sizes, offsets and written or cleared ranges are multiples of a page.
    public static let pageSize: UInt64 = 512
    /// The unit of storage: one sealed record per written chunk (8 pages).
    public static let chunkSize: UInt64 = 4096
    /// Chunks per region record map (1 GiB of the disk).
    public static let chunksPerRegion: UInt64 = 262_144
    public static let regionSize: UInt64 = chunkSize * chunksPerRegion
    /// 4 TiB.
    public static let maxSize: UInt64 = 4 << 40
    /// The most one write or read moves: 4 MiB.
    public static let maxIO = 4 << 20
    /// The most ranges one write of ranges holds.
    public static let maxRanges = 1024
    public static let listPage = 1...1000

    /// 3-63 characters of lowercase letters, digits and single hyphens,
    /// starting and ending with a letter or digit (the rule of queue names).
    public static func validate(diskName name: String) throws { try QueueLimits.validate(name: name, of: "disk") }

    /// As for queues: keys of letters, digits and underscores, 8 KiB in all.
    public static func validate(metadata: [String: String]) throws { try QueueLimits.validate(metadata: metadata, of: "disk") }

    /// A multiple of 512 bytes, 512 B to 4 TiB.
    public static func validate(size: UInt64) throws {
        guard size % pageSize == 0, (pageSize...maxSize).contains(size) else {
            throw StorageError(.invalidArgument, "disk size must be a multiple of 512 bytes from 512 B to 4 TiB (\(maxSize)), not \(size)")
        }
    }

    /// A page-aligned range [offset, offset + length) of a disk of `size` bytes.
    static func check(pages offset: UInt64, _ length: UInt64, of size: UInt64, _ what: String) throws {
        guard offset % pageSize == 0, length % pageSize == 0 else {
            throw StorageError(.invalidArgument, "\(what) offset \(offset) and length \(length) must be multiples of 512 bytes")
        }
        try check(range: offset, length, of: size, what)
    }

    /// A range [offset, offset + length) within a disk of `size` bytes.
    static func check(range offset: UInt64, _ length: UInt64, of size: UInt64, _ what: String) throws {
        guard offset <= size, length <= size - offset else {
            throw StorageError(.invalidArgument, "\(what) range [\(offset), \(offset &+ length)) lies beyond the disk's end (\(size) bytes)")
        }
    }

    /// 1 byte to 4 MiB.
    static func check(io length: Int, _ what: String) throws {
        guard (1...maxIO).contains(length) else {
            throw StorageError(.invalidArgument, "\(what) moves 1 byte to 4 MiB (\(maxIO)) at a time, not \(length)")
        }
    }
}
