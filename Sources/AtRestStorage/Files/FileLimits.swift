/// The rules of file share calls (docs/FORMAT.md "Files"); every violation
/// is `StorageError(.invalidArgument)` naming the rule.
public enum FileLimits {
    /// One path component: 1-255 bytes of UTF-8.
    public static let componentBytes = 1...255
    /// A whole path: at most 4 KiB of UTF-8.
    public static let maxPathBytes = 4096
    /// The unit of file data: one sealed record per stored chunk (16 × 4 KiB;
    /// the rest of the geometry is `ChunkedData.Geometry.file`).
    public static var chunkSize: UInt64 { ChunkedData.Geometry.file.chunkSize }
    /// A file of at most this many bytes keeps its data in its inode record
    /// (sealed with it; one tree batch per write, no chunk map); growing past
    /// it moves the data to chunks for good (docs/FORMAT.md "Files").
    public static let inlineBytes: UInt64 = 8192
    /// 4 TiB.
    public static let maxFileSize: UInt64 = 4 << 40
    /// 5 PiB.
    public static let maxQuota: UInt64 = 5 << 50
    /// The most one write or read moves: 4 MiB.
    public static let maxIO = 4 << 20
    public static let listPage = 1...1000
    /// Permission and type-free mode bits (rwx for user, group, other, setuid, setgid, sticky).
    public static let maxMode: UInt32 = 0o7777

    /// Share names follow the rule of queue and disk names: 3-63 characters
    /// of lowercase letters, digits and single hyphens.
    public static func validate(shareName name: String) throws { try QueueLimits.validate(name: name, of: "share") }

    /// As for queues and disks: keys of letters, digits and underscores, 8 KiB in all.
    public static func validate(metadata: [String: String], of kind: String) throws { try QueueLimits.validate(metadata: metadata, of: kind) }

    /// 1 byte to 5 PiB.
    public static func validate(quota: UInt64) throws {
        guard (1...maxQuota).contains(quota) else {
            throw StorageError(.invalidArgument, "share quota must be 1 byte to 5 PiB (\(maxQuota)), not \(quota)")
        }
    }

    /// At most 4 TiB.
    public static func validate(size: UInt64) throws {
        guard size <= maxFileSize else {
            throw StorageError(.invalidArgument, "file size must be at most 4 TiB (\(maxFileSize)), not \(size)")
        }
    }

    /// 0 to 0o7777.
    public static func validate(mode: UInt32) throws {
        guard mode <= maxMode else {
            throw StorageError(.invalidArgument, "file mode bits must be 0 to 0o7777, not 0o\(String(mode, radix: 8))")
        }
    }

    /// 1 byte to 4 MiB.
    static func check(io length: Int, _ what: String) throws {
        guard (1...maxIO).contains(length) else {
            throw StorageError(.invalidArgument, "\(what) moves 1 byte to 4 MiB (\(maxIO)) at a time, not \(length)")
        }
    }

    /// [offset, offset + length) must end at or before 4 TiB.
    static func check(range offset: UInt64, _ length: UInt64, _ what: String) throws {
        guard offset <= maxFileSize, length <= maxFileSize - offset else {
            throw StorageError(.invalidArgument, "\(what) range [\(offset), \(offset &+ length)) lies beyond the largest file size (4 TiB)")
        }
    }
}
