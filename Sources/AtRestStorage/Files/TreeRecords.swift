/// The records of a share's tree map `fs-<share id>` (docs/FORMAT.md
/// "Files"), each stored sealed. Ids are 16 bytes: the root directory's
/// inode id is all zeros, every other inode id and data id is random.

/// A file or directory: key `n-<32 hex inode id>`.
///
/// ```
/// u8 version (1) ‖ u8 kind (1 directory, 2 file) ‖ u32 mode bits ‖ u64 size (0 for a directory)
/// ‖ i64 ctime ms ‖ i64 mtime ms ‖ 16 parent inode id ‖ 16 data id (zeros for a directory)
/// ‖ u16 metadata entries (as in a disk record)
/// ```
///
/// Version 2, a small file whose data lives in the inode (`inline`, at
/// most `FileLimits.inlineBytes`, exactly `size` bytes): version 1's fields
/// (version byte 2) ‖ u32 data length ‖ the data. Version 1 records (every
/// directory, every file with chunked data) are written as before.
struct InodeRecord: Equatable {
    var kind: FileKind
    var mode: UInt32
    var size: UInt64
    var ctime: Int64
    var mtime: Int64
    var parent: [UInt8]
    var dataID: [UInt8]
    var metadata: [String: String]
    /// The file's bytes when they live in the inode (nil: in chunks under `dataID`).
    var inline: [UInt8]? = nil

    static let idSize = 16
    static let rootID = [UInt8](repeating: 0, count: idSize)

    /// Notes a change of the record at `now`: its ctime becomes `now`, or
    /// 1 ms past the ctime it had when the clock has not passed that (two
    /// changes within one millisecond, a clock set back). So every change
    /// of a record changes its ctime, which a mount's open compares to
    /// decide whether the kernel may keep the file's pages (ShareFileSystem
    /// `KernelPages`; FORMAT.md "Files").
    mutating func changed(at now: Int64) { ctime = max(now, ctime &+ 1) }

    var encoded: [UInt8] {
        get throws {
            var w = ByteWriter()
            w.u8(inline == nil ? 1 : 2)
            w.u8(kind.rawValue)
            w.u32(mode)
            w.u64(size)
            w.u64(UInt64(bitPattern: ctime))
            w.u64(UInt64(bitPattern: mtime))
            w.raw(parent)
            w.raw(dataID)
            try w.metadata16(metadata)
            if let inline {
                w.u32(UInt32(inline.count))
                w.raw(inline)
            }
            return w.bytes
        }
    }

    init(kind: FileKind, mode: UInt32, size: UInt64, ctime: Int64, mtime: Int64, parent: [UInt8], dataID: [UInt8], metadata: [String: String],
         inline: [UInt8]? = nil) {
        (self.kind, self.mode, self.size, self.ctime, self.mtime) = (kind, mode, size, ctime, mtime)
        (self.parent, self.dataID, self.metadata, self.inline) = (parent, dataID, metadata, inline)
    }

    init(decoding bytes: [UInt8]) throws {
        var r = ByteReader(bytes)
        let version = try r.u8()
        guard version == 1 || version == 2 else { throw StorageError(.unsupportedFormat, "inode record version") }
        guard let kind = FileKind(rawValue: try r.u8()) else { throw StorageError.integrity("unknown inode kind") }
        self.kind = kind
        mode = try r.u32()
        size = try r.u64()
        ctime = Int64(bitPattern: try r.u64())
        mtime = Int64(bitPattern: try r.u64())
        parent = Array(try r.take(Self.idSize))
        dataID = Array(try r.take(Self.idSize))
        metadata = try r.metadata16()
        if version == 2 {
            let count = try r.u32()
            guard kind == .file, UInt64(count) == size, UInt64(count) <= FileLimits.inlineBytes else {
                throw StorageError.integrity("inline data of an inode record does not match its size")
            }
            inline = Array(try r.take(Int(count)))
        }
        guard r.remaining == 0 else { throw StorageError.integrity("trailing bytes in an inode record") }
    }

    func info(_ name: String) -> FileInfo {
        FileInfo(name: name, kind: kind, size: size, mode: mode, ctime: ctime, mtime: mtime, metadata: metadata)
    }
}

/// A name in a directory: key `e-<32 hex parent id>-<H("file-entry", account, share id, parent id, name)>`.
///
/// ```
/// u8 version (1) ‖ name (u8 length ‖ UTF-8) ‖ 16 child inode id ‖ u8 kind
/// ```
struct EntryRecord: Equatable {
    var name: String
    var child: [UInt8]
    var kind: FileKind

    var encoded: [UInt8] {
        get throws {
            var w = ByteWriter()
            w.u8(1)
            try w.shortString(name, field: "file name")
            w.raw(child)
            w.u8(kind.rawValue)
            return w.bytes
        }
    }

    init(name: String, child: [UInt8], kind: FileKind) { (self.name, self.child, self.kind) = (name, child, kind) }

    init(decoding bytes: [UInt8]) throws {
        var r = ByteReader(bytes)
        guard try r.u8() == 1 else { throw StorageError(.unsupportedFormat, "entry record version") }
        name = try r.shortString()
        child = Array(try r.take(InodeRecord.idSize))
        guard let kind = FileKind(rawValue: try r.u8()) else { throw StorageError.integrity("unknown entry kind") }
        self.kind = kind
        guard r.remaining == 0 else { throw StorageError.integrity("trailing bytes in an entry record") }
    }
}

/// What a share holds: key `u`.
///
/// ```
/// u8 version (1) ‖ u64 bytes (sum of file sizes) ‖ u64 files ‖ u64 directories (not the root)
/// ```
struct UsageRecord: Equatable {
    var bytes: UInt64
    var files: UInt64
    var directories: UInt64

    var encoded: [UInt8] {
        var w = ByteWriter()
        w.u8(1)
        w.u64(bytes)
        w.u64(files)
        w.u64(directories)
        return w.bytes
    }

    init(bytes: UInt64, files: UInt64, directories: UInt64) { (self.bytes, self.files, self.directories) = (bytes, files, directories) }

    init(decoding bytes: [UInt8]) throws {
        var r = ByteReader(bytes)
        guard try r.u8() == 1 else { throw StorageError(.unsupportedFormat, "usage record version") }
        self.bytes = try r.u64()
        files = try r.u64()
        directories = try r.u64()
        guard r.remaining == 0 else { throw StorageError.integrity("trailing bytes in a usage record") }
    }
}

/// A deleted file's data that awaits removal: key `z-<32 hex data id>`.
///
/// ```
/// u8 version (1) ‖ u64 size (of the deleted file)
/// ```
struct Tombstone: Equatable {
    var size: UInt64

    var encoded: [UInt8] {
        var w = ByteWriter()
        w.u8(1)
        w.u64(size)
        return w.bytes
    }

    init(size: UInt64) { self.size = size }

    init(decoding bytes: [UInt8]) throws {
        var r = ByteReader(bytes)
        guard try r.u8() == 1 else { throw StorageError(.unsupportedFormat, "tombstone version") }
        size = try r.u64()
        guard r.remaining == 0 else { throw StorageError.integrity("trailing bytes in a tombstone") }
    }
}
