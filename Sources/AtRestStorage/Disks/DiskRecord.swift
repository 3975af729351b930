import AtRestCrypto

/// A disk's name, size, creation time and metadata.
public struct DiskInfo: Sendable, Equatable {
    public var name: String
    /// Bytes, a multiple of 512.
    public var size: UInt64
    /// Milliseconds since the Unix epoch.
    public var creationTime: Int64
    public var metadata: [String: String]

    public init(name: String, size: UInt64, creationTime: Int64, metadata: [String: String]) {
        self.name = name
        self.size = size
        self.creationTime = creationTime
        self.metadata = metadata
    }
}

/// One page of disks, by name.
public struct DiskListing: Sendable, Equatable {
    public var disks: [DiskInfo]
    /// Pass back to continue after the last disk; nil on the last page.
    public var continuation: String?

    public init(disks: [DiskInfo], continuation: String?) {
        self.disks = disks
        self.continuation = continuation
    }
}

/// A range of a disk that holds written data: [offset, offset + length).
public struct PageRange: Sendable, Equatable {
    public var offset: UInt64
    public var length: UInt64

    public init(offset: UInt64, length: UInt64) {
        self.offset = offset
        self.length = length
    }
}

/// What a disk's record in the account's disk directory holds, sealed
/// (docs/FORMAT.md "Disks (mutable objects)").
///
/// ```
/// u8 version (1) ‖ 16 disk id ‖ u64 size ‖ u64 creation ms ‖ name (u8 length ‖ UTF-8)
/// ‖ u16 metadata entries, each key and value (u16 length ‖ UTF-8), sorted by key
/// ```
struct DiskRecord: Equatable {
    var id: [UInt8]
    var size: UInt64
    var creationTime: Int64
    var name: String
    var metadata: [String: String]

    static let idSize = 16

    var encoded: [UInt8] {
        get throws {
            var w = ByteWriter()
            w.u8(1)
            w.raw(id)
            w.u64(size)
            w.u64(UInt64(bitPattern: creationTime))
            try w.shortString(name, field: "disk name")
            try w.metadata16(metadata)
            return w.bytes
        }
    }

    init(id: [UInt8], size: UInt64, creationTime: Int64, name: String, metadata: [String: String]) {
        (self.id, self.size, self.creationTime, self.name, self.metadata) = (id, size, creationTime, name, metadata)
    }

    init(decoding bytes: [UInt8]) throws {
        var r = ByteReader(bytes)
        guard try r.u8() == 1 else { throw StorageError(.unsupportedFormat, "disk record version") }
        id = Array(try r.take(Self.idSize))
        size = try r.u64()
        creationTime = Int64(bitPattern: try r.u64())
        name = try r.shortString()
        metadata = try r.metadata16()
        guard r.remaining == 0 else { throw StorageError.integrity("trailing bytes in a disk record") }
    }

    var info: DiskInfo { DiskInfo(name: name, size: size, creationTime: creationTime, metadata: metadata) }
}
