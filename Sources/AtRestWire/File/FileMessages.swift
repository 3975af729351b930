// Swift types of proto/atrest/v1/file.proto. File bytes travel as payload
// frames, not in these messages.

/// DeleteShare, GetShareProperties, SetShareMetadata.
public struct ShareRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.ShareRequest"
    public var share: String
    /// SetShareMetadata: the new metadata (replaced whole).
    public var metadata: [String: String]
    public init(share: String, metadata: [String: String] = [:]) { self.share = share; self.metadata = metadata }
    public init(wire: WireFields) throws { self.init(share: wire.string(1), metadata: wire.stringMap(2)) }
    public var wire: WireFields { [1: .string(share), 2: .map(metadata)] }
}

public struct CreateShareRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.CreateShareRequest"
    public var share: String
    /// Bytes: 1 B to 5 PiB.
    public var quota: UInt64
    public var metadata: [String: String]
    public init(share: String, quota: UInt64, metadata: [String: String] = [:]) {
        (self.share, self.quota, self.metadata) = (share, quota, metadata)
    }
    public init(wire: WireFields) throws { self.init(share: wire.string(1), quota: wire.uint64(2), metadata: wire.stringMap(3)) }
    public var wire: WireFields { [1: .string(share), 2: .uint(quota), 3: .map(metadata)] }
}

public struct SetShareQuotaRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.SetShareQuotaRequest"
    public var share: String
    public var quota: UInt64
    public init(share: String, quota: UInt64) { self.share = share; self.quota = quota }
    public init(wire: WireFields) throws { self.init(share: wire.string(1), quota: wire.uint64(2)) }
    public var wire: WireFields { [1: .string(share), 2: .uint(quota)] }
}

public struct ShareProperties: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.ShareProperties"
    public var share: String
    public var quota: UInt64
    /// The sum of the sizes of the share's files.
    public var usageBytes: UInt64
    public var files: UInt64
    /// Directories other than the root.
    public var directories: UInt64
    public var createdAtMs: Int64
    public var metadata: [String: String]
    public init(share: String, quota: UInt64, usageBytes: UInt64 = 0, files: UInt64 = 0, directories: UInt64 = 0, createdAtMs: Int64 = 0,
                metadata: [String: String] = [:]) {
        (self.share, self.quota, self.usageBytes, self.files, self.directories) = (share, quota, usageBytes, files, directories)
        (self.createdAtMs, self.metadata) = (createdAtMs, metadata)
    }
    public init(wire: WireFields) throws {
        self.init(share: wire.string(1), quota: wire.uint64(2), usageBytes: wire.uint64(3), files: wire.uint64(4), directories: wire.uint64(5),
                  createdAtMs: wire.int64(6), metadata: wire.stringMap(7))
    }
    public var wire: WireFields {
        [1: .string(share), 2: .uint(quota), 3: .uint(usageBytes), 4: .uint(files), 5: .uint(directories), 6: .int(createdAtMs),
         7: .map(metadata)]
    }
}

public struct ShareListRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.ShareListRequest"
    public var prefix: String
    /// 1-1000; 0: 1000.
    public var pageSize: UInt32
    public var continuation: String
    public init(prefix: String = "", pageSize: UInt32 = 0, continuation: String = "") {
        (self.prefix, self.pageSize, self.continuation) = (prefix, pageSize, continuation)
    }
    public init(wire: WireFields) throws { self.init(prefix: wire.string(1), pageSize: wire.uint32(2), continuation: wire.string(3)) }
    public var wire: WireFields { [1: .string(prefix), 2: .uint(pageSize), 3: .string(continuation)] }
}

public struct ShareListResponse: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.ShareListResponse"
    public var shares: [ShareProperties]
    /// Empty on the last page.
    public var continuation: String
    public init(shares: [ShareProperties], continuation: String = "") { self.shares = shares; self.continuation = continuation }
    public init(wire: WireFields) throws { self.init(shares: try wire.messages(1), continuation: wire.string(2)) }
    public var wire: WireFields { [1: .messages(shares), 2: .string(continuation)] }
}

/// DeleteFile, FlushFile, GetFileProperties, SetFileMetadata.
public struct FileRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.FileRequest"
    public var share: String
    public var path: String
    /// SetFileMetadata: the new metadata (replaced whole).
    public var metadata: [String: String]
    public init(share: String, path: String, metadata: [String: String] = [:]) { (self.share, self.path, self.metadata) = (share, path, metadata) }
    public init(wire: WireFields) throws { self.init(share: wire.string(1), path: wire.string(2), metadata: wire.stringMap(3)) }
    public var wire: WireFields { [1: .string(share), 2: .string(path), 3: .map(metadata)] }
}

/// CreateFile and CreateDirectory (size 0).
public struct CreateFileRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.CreateFileRequest"
    public var share: String
    public var path: String
    /// CreateFile: at most 4 TiB, reads as zeros; CreateDirectory: 0.
    public var size: UInt64
    /// Permission bits; 0: the default (0o644 files, 0o755 directories).
    public var mode: UInt32
    public var metadata: [String: String]
    /// The new entry's modification time (ms since the epoch); nil: now.
    public var mtimeMs: Int64?
    public init(share: String, path: String, size: UInt64 = 0, mode: UInt32 = 0, metadata: [String: String] = [:], mtimeMs: Int64? = nil) {
        (self.share, self.path, self.size, self.mode, self.metadata, self.mtimeMs) = (share, path, size, mode, metadata, mtimeMs)
    }
    public init(wire: WireFields) throws {
        self.init(share: wire.string(1), path: wire.string(2), size: wire.uint64(3), mode: wire.uint32(4), metadata: wire.stringMap(5),
                  mtimeMs: wire.bool(6) ? wire.int64(7) : nil)
    }
    public var wire: WireFields {
        [1: .string(share), 2: .string(path), 3: .uint(size), 4: .uint(mode), 5: .map(metadata), 6: .bool(mtimeMs != nil), 7: .int(mtimeMs ?? 0)]
    }
}

public struct DeleteDirectoryRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.DeleteDirectoryRequest"
    public var share: String
    public var path: String
    /// Delete what it holds too; else it must be empty.
    public var recursive: Bool
    public init(share: String, path: String, recursive: Bool = false) { (self.share, self.path, self.recursive) = (share, path, recursive) }
    public init(wire: WireFields) throws { self.init(share: wire.string(1), path: wire.string(2), recursive: wire.bool(3)) }
    public var wire: WireFields { [1: .string(share), 2: .string(path), 3: .bool(recursive)] }
}

public struct ListDirectoryRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.ListDirectoryRequest"
    public var share: String
    public var path: String
    /// 1-1000; 0: 1000.
    public var pageSize: UInt32
    public var continuation: String
    public init(share: String, path: String, pageSize: UInt32 = 0, continuation: String = "") {
        (self.share, self.path, self.pageSize, self.continuation) = (share, path, pageSize, continuation)
    }
    public init(wire: WireFields) throws {
        self.init(share: wire.string(1), path: wire.string(2), pageSize: wire.uint32(3), continuation: wire.string(4))
    }
    public var wire: WireFields { [1: .string(share), 2: .string(path), 3: .uint(pageSize), 4: .string(continuation)] }
}

/// A file or a directory.
public struct FileProperties: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.FileProperties"
    /// `kind` on the wire.
    public static let directoryKind: UInt32 = 1
    public static let fileKind: UInt32 = 2
    /// The last path component ("" for the root).
    public var name: String
    /// 1 directory, 2 file.
    public var kind: UInt32
    /// Bytes (0 for a directory).
    public var size: UInt64
    /// Permission bits, 0 to 0o7777.
    public var mode: UInt32
    public var ctimeMs: Int64
    public var mtimeMs: Int64
    public var metadata: [String: String]
    public init(name: String, kind: UInt32, size: UInt64 = 0, mode: UInt32 = 0, ctimeMs: Int64 = 0, mtimeMs: Int64 = 0,
                metadata: [String: String] = [:]) {
        (self.name, self.kind, self.size, self.mode, self.ctimeMs, self.mtimeMs, self.metadata) = (name, kind, size, mode, ctimeMs, mtimeMs, metadata)
    }
    public init(wire: WireFields) throws {
        self.init(name: wire.string(1), kind: wire.uint32(2), size: wire.uint64(3), mode: wire.uint32(4), ctimeMs: wire.int64(5),
                  mtimeMs: wire.int64(6), metadata: wire.stringMap(7))
    }
    public var wire: WireFields {
        [1: .string(name), 2: .uint(kind), 3: .uint(size), 4: .uint(mode), 5: .int(ctimeMs), 6: .int(mtimeMs), 7: .map(metadata)]
    }
    public var isDirectory: Bool { kind == Self.directoryKind }
    public var isFile: Bool { kind == Self.fileKind }
}

public struct ListDirectoryResponse: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.ListDirectoryResponse"
    /// In stored order (stable, not alphabetical).
    public var entries: [FileProperties]
    /// Empty on the last page.
    public var continuation: String
    public init(entries: [FileProperties], continuation: String = "") { self.entries = entries; self.continuation = continuation }
    public init(wire: WireFields) throws { self.init(entries: try wire.messages(1), continuation: wire.string(2)) }
    public var wire: WireFields { [1: .messages(entries), 2: .string(continuation)] }
}

/// The bytes follow as payload frames (joined: 1 B to 4 MiB).
public struct WriteFileRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.WriteFileRequest"
    public var share: String
    public var path: String
    public var offset: UInt64
    public init(share: String, path: String, offset: UInt64) { (self.share, self.path, self.offset) = (share, path, offset) }
    public init(wire: WireFields) throws { self.init(share: wire.string(1), path: wire.string(2), offset: wire.uint64(3)) }
    public var wire: WireFields { [1: .string(share), 2: .string(path), 3: .uint(offset)] }
}

public struct ReadFileRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.ReadFileRequest"
    public var share: String
    public var path: String
    public var offset: UInt64
    /// 1 B to 4 MiB.
    public var length: UInt64
    public init(share: String, path: String, offset: UInt64, length: UInt64) {
        (self.share, self.path, self.offset, self.length) = (share, path, offset, length)
    }
    public init(wire: WireFields) throws {
        self.init(share: wire.string(1), path: wire.string(2), offset: wire.uint64(3), length: wire.uint64(4))
    }
    public var wire: WireFields { [1: .string(share), 2: .string(path), 3: .uint(offset), 4: .uint(length)] }
}

/// The bytes follow as payload frames.
public struct ReadFileResponse: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.ReadFileResponse"
    /// How many bytes the payload holds (cut at the file's end).
    public var length: UInt64
    public init(length: UInt64) { self.length = length }
    public init(wire: WireFields) throws { self.init(length: wire.uint64(1)) }
    public var wire: WireFields { [1: .uint(length)] }
}

public struct ResizeFileRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.ResizeFileRequest"
    public var share: String
    public var path: String
    public var size: UInt64
    public init(share: String, path: String, size: UInt64) { (self.share, self.path, self.size) = (share, path, size) }
    public init(wire: WireFields) throws { self.init(share: wire.string(1), path: wire.string(2), size: wire.uint64(3)) }
    public var wire: WireFields { [1: .string(share), 2: .string(path), 3: .uint(size)] }
}

public struct SetFileModeRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.SetFileModeRequest"
    public var share: String
    public var path: String
    public var mode: UInt32
    public init(share: String, path: String, mode: UInt32) { (self.share, self.path, self.mode) = (share, path, mode) }
    public init(wire: WireFields) throws { self.init(share: wire.string(1), path: wire.string(2), mode: wire.uint32(3)) }
    public var wire: WireFields { [1: .string(share), 2: .string(path), 3: .uint(mode)] }
}

public struct SetFileTimesRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.SetFileTimesRequest"
    public var share: String
    public var path: String
    public var mtimeMs: Int64
    public init(share: String, path: String, mtimeMs: Int64) { (self.share, self.path, self.mtimeMs) = (share, path, mtimeMs) }
    public init(wire: WireFields) throws { self.init(share: wire.string(1), path: wire.string(2), mtimeMs: wire.int64(3)) }
    public var wire: WireFields { [1: .string(share), 2: .string(path), 3: .int(mtimeMs)] }
}

public struct RenameRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.RenameRequest"
    public var share: String
    public var from: String
    public var to: String
    /// true: replace what `to` names (POSIX rename); false: ALREADY_EXISTS if it exists.
    public var replace: Bool
    /// true: swap `from` and `to` atomically (both must exist; `replace` is ignored).
    public var exchange: Bool
    public init(share: String, from: String, to: String, replace: Bool, exchange: Bool = false) {
        (self.share, self.from, self.to, self.replace, self.exchange) = (share, from, to, replace, exchange)
    }
    public init(wire: WireFields) throws {
        self.init(share: wire.string(1), from: wire.string(2), to: wire.string(3), replace: wire.bool(4), exchange: wire.bool(5))
    }
    public var wire: WireFields { [1: .string(share), 2: .string(from), 3: .string(to), 4: .bool(replace), 5: .bool(exchange)] }
}
