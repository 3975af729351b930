// Swift types of proto/atrest/v1/disk.proto. Page bytes travel as payload
// frames, not in these messages.

public struct DiskRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.DiskRequest"
    public var disk: String
    /// SetDiskMetadata: the new metadata (replaced whole).
    public var metadata: [String: String]
    public init(disk: String, metadata: [String: String] = [:]) { self.disk = disk; self.metadata = metadata }
    public init(wire: WireFields) throws { self.init(disk: wire.string(1), metadata: wire.stringMap(2)) }
    public var wire: WireFields { [1: .string(disk), 2: .map(metadata)] }
}

public struct CreateDiskRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.CreateDiskRequest"
    public var disk: String
    /// Bytes: a multiple of 512, 512 B to 4 TiB.
    public var size: UInt64
    public var metadata: [String: String]
    public init(disk: String, size: UInt64, metadata: [String: String] = [:]) {
        self.disk = disk
        self.size = size
        self.metadata = metadata
    }
    public init(wire: WireFields) throws { self.init(disk: wire.string(1), size: wire.uint64(2), metadata: wire.stringMap(3)) }
    public var wire: WireFields { [1: .string(disk), 2: .uint(size), 3: .map(metadata)] }
}

public struct DiskProperties: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.DiskProperties"
    public var disk: String
    public var size: UInt64
    public var createdAtMs: Int64
    public var metadata: [String: String]
    public init(disk: String, size: UInt64, createdAtMs: Int64 = 0, metadata: [String: String] = [:]) {
        self.disk = disk
        self.size = size
        self.createdAtMs = createdAtMs
        self.metadata = metadata
    }
    public init(wire: WireFields) throws {
        self.init(disk: wire.string(1), size: wire.uint64(2), createdAtMs: wire.int64(3), metadata: wire.stringMap(4))
    }
    public var wire: WireFields { [1: .string(disk), 2: .uint(size), 3: .int(createdAtMs), 4: .map(metadata)] }
}

public struct DiskListRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.DiskListRequest"
    public var prefix: String
    /// 1-1000; 0: 1000.
    public var pageSize: UInt32
    public var continuation: String
    public init(prefix: String = "", pageSize: UInt32 = 0, continuation: String = "") {
        self.prefix = prefix
        self.pageSize = pageSize
        self.continuation = continuation
    }
    public init(wire: WireFields) throws { self.init(prefix: wire.string(1), pageSize: wire.uint32(2), continuation: wire.string(3)) }
    public var wire: WireFields { [1: .string(prefix), 2: .uint(UInt64(pageSize)), 3: .string(continuation)] }
}

public struct DiskListResponse: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.DiskListResponse"
    public var disks: [DiskProperties]
    /// Empty on the last page.
    public var continuation: String
    public init(disks: [DiskProperties], continuation: String = "") { self.disks = disks; self.continuation = continuation }
    public init(wire: WireFields) throws { self.init(disks: try wire.messages(1), continuation: wire.string(2)) }
    public var wire: WireFields { [1: .messages(disks), 2: .string(continuation)] }
}

public struct ResizeDiskRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.ResizeDiskRequest"
    public var disk: String
    public var size: UInt64
    public init(disk: String, size: UInt64) { self.disk = disk; self.size = size }
    public init(wire: WireFields) throws { self.init(disk: wire.string(1), size: wire.uint64(2)) }
    public var wire: WireFields { [1: .string(disk), 2: .uint(size)] }
}

/// The bytes follow as payload frames (joined: a multiple of 512, 512 B to 4 MiB).
public struct PutPagesRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.PutPagesRequest"
    public var disk: String
    public var offset: UInt64
    public init(disk: String, offset: UInt64) { self.disk = disk; self.offset = offset }
    public init(wire: WireFields) throws { self.init(disk: wire.string(1), offset: wire.uint64(2)) }
    public var wire: WireFields { [1: .string(disk), 2: .uint(offset)] }
}

/// Several page writes in one call; the bytes follow as payload frames (joined:
/// the ranges' bytes one after another, in the order of `ranges`).
public struct PutPageRangesRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.PutPageRangesRequest"
    public var disk: String
    public var ranges: [DiskPageRange]
    public init(disk: String, ranges: [DiskPageRange]) { self.disk = disk; self.ranges = ranges }
    public init(wire: WireFields) throws { self.init(disk: wire.string(1), ranges: try wire.messages(2)) }
    public var wire: WireFields { [1: .string(disk), 2: .messages(ranges)] }
}

/// ClearPages, GetPages, ListPageRanges: bytes [offset, offset + length) of a disk.
public struct DiskRangeRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.DiskRangeRequest"
    public var disk: String
    public var offset: UInt64
    /// GetPages: 1 B to 4 MiB; ListPageRanges: 0 means to the end of the disk.
    public var length: UInt64
    public init(disk: String, offset: UInt64, length: UInt64) {
        self.disk = disk
        self.offset = offset
        self.length = length
    }
    public init(wire: WireFields) throws { self.init(disk: wire.string(1), offset: wire.uint64(2), length: wire.uint64(3)) }
    public var wire: WireFields { [1: .string(disk), 2: .uint(offset), 3: .uint(length)] }
}

/// The bytes follow as payload frames.
public struct GetPagesResponse: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.GetPagesResponse"
    /// How many bytes the payload holds.
    public var length: UInt64
    public init(length: UInt64) { self.length = length }
    public init(wire: WireFields) throws { self.init(length: wire.uint64(1)) }
    public var wire: WireFields { [1: .uint(length)] }
}

/// Written bytes [offset, offset + length) of a disk.
public struct DiskPageRange: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.DiskPageRange"
    public var offset: UInt64
    public var length: UInt64
    public init(offset: UInt64, length: UInt64) { self.offset = offset; self.length = length }
    public init(wire: WireFields) throws { self.init(offset: wire.uint64(1), length: wire.uint64(2)) }
    public var wire: WireFields { [1: .uint(offset), 2: .uint(length)] }
}

extension DiskPageRange {
    /// Appends `range` (after every range in `ranges`) to `ranges`, merged
    /// into the last one when the two touch.
    public static func append(_ range: DiskPageRange, to ranges: inout [DiskPageRange]) {
        if let last = ranges.last, last.offset + last.length == range.offset {
            ranges[ranges.count - 1].length += range.length
        } else {
            ranges.append(range)
        }
    }
}

public struct PageRangesResponse: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.PageRangesResponse"
    /// Ascending, adjacent ranges merged.
    public var ranges: [DiskPageRange]
    /// 0: complete; else where to ask again (to the same end).
    public var nextOffset: UInt64
    public init(ranges: [DiskPageRange], nextOffset: UInt64 = 0) { self.ranges = ranges; self.nextOffset = nextOffset }
    public init(wire: WireFields) throws { self.init(ranges: try wire.messages(1), nextOffset: wire.uint64(2)) }
    public var wire: WireFields { [1: .messages(ranges), 2: .uint(nextOffset)] }
}
