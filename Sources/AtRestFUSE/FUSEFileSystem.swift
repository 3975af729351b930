import Glibc

/// A file system served through FUSE, addressed by path (libfuse3's
/// high-level API): `FUSEMount` calls these methods from libfuse's worker
/// threads, each call on a task of its own, and answers the kernel with the
/// result or the thrown error's errno (docs/OPERATIONS.md "FUSE mounts").
///
/// Paths are absolute within the mount ("/", "/a/b"), decoded as UTF-8
/// (a name that is not valid UTF-8 arrives with U+FFFD in place of the bad
/// bytes, so such names cannot be told apart: AtRest names are Unicode). Errors are
/// `FUSEError` carrying a POSIX errno; any other error answers EIO.
///
/// Supported by every file system: the methods without a default below.
/// The ones with a default answer a clear errno unless a file system
/// implements them: hard links (`link`) and special files (`mknod`) EPERM
/// (the errno link(2) and mknod(2) give on a file system without them),
/// symbolic links EPERM, ownership changes EPERM, extended attributes
/// ENOTSUP (which `cp -a`, `rsync -X` and `tar --xattrs` treat as "not
/// supported here"). Locks are not passed to the file system: the kernel
/// keeps flock and POSIX locks local to the mount, so they do not hold
/// across two mounts.
public protocol FUSEFileSystem: Sendable {
    /// Attributes of `path`; `handle` is set when the kernel asks about an open file (fstat).
    func getattr(_ path: String, handle: FUSEFileHandle?) async throws -> FUSEAttributes
    /// The entries of a directory, without "." and ".." (the wrapper adds them).
    func readdir(_ path: String) async throws -> [FUSEDirectoryEntry]
    func mkdir(_ path: String, mode: UInt32) async throws
    /// Removes an empty directory (ENOTEMPTY otherwise).
    func rmdir(_ path: String) async throws
    /// Creates and opens a regular file (O_CREAT; EEXIST with O_EXCL when it exists).
    func create(_ path: String, mode: UInt32, flags: FUSEOpenFlags) async throws -> FUSEFileHandle
    func open(_ path: String, flags: FUSEOpenFlags) async throws -> FUSEFileHandle
    /// Up to `count` bytes at `offset`; fewer only at the end of the file.
    func read(_ path: String, handle: FUSEFileHandle, offset: Int64, count: Int) async throws -> [UInt8]
    /// Writes `bytes` at `offset` (or at the end with O_APPEND); returns the bytes written.
    func write(_ path: String, handle: FUSEFileHandle, offset: Int64, bytes: [UInt8]) async throws -> Int
    /// Sets the size (shrinks or extends with zeros); `handle` is set for ftruncate.
    func truncate(_ path: String, size: Int64, handle: FUSEFileHandle?) async throws
    func unlink(_ path: String) async throws
    /// rename(2) and renameat2(2): `flags` RENAME_NOREPLACE or RENAME_EXCHANGE
    /// (answer EINVAL for flags the file system cannot honour).
    func rename(_ from: String, to: String, flags: FUSERenameFlags) async throws
    /// Sets the permission bits (and set-id/sticky bits) of `mode`.
    func chmod(_ path: String, mode: UInt32, handle: FUSEFileHandle?) async throws
    func utimens(_ path: String, access: FUSETimeUpdate, modification: FUSETimeUpdate, handle: FUSEFileHandle?) async throws
    /// Makes the file's data (and metadata unless `dataOnly`) durable.
    func fsync(_ path: String, handle: FUSEFileHandle?, dataOnly: Bool) async throws
    /// close(2) of one descriptor of an open file (may come several times per open).
    func flush(_ path: String, handle: FUSEFileHandle) async throws
    /// The last close of an open file: the handle is no longer used.
    func release(_ path: String, handle: FUSEFileHandle) async throws
    func statfs(_ path: String) async throws -> FUSEStatFS

    // With defaults (see above).
    /// `read` without waiting, when the bytes are at hand (cached): called
    /// on libfuse's thread before `read`, so a hit costs no hop to the task
    /// pool and back. The bytes as pieces in order (slices of cached pages,
    /// copied once, straight into libfuse's buffer); nil: go on to `read`.
    /// Default: nil.
    func readImmediately(_ path: String, handle: FUSEFileHandle, offset: Int64, count: Int) -> [ArraySlice<UInt8>]?
    /// `getattr` without waiting, when the answer is at hand (attributes
    /// cached, a name known to be missing): called on libfuse's thread
    /// before `getattr`, as `readImmediately` (the kernel's lookup of every
    /// new name comes here). nil: go on to `getattr`. Default: nil.
    func getattrImmediately(_ path: String, handle: FUSEFileHandle?) -> Result<FUSEAttributes, FUSEError>?
    /// `create` without waiting, when it needs no call (a file system that
    /// holds a new file until its first write-back): called on libfuse's
    /// thread before `create`. nil: go on to `create`. Default: nil.
    func createImmediately(_ path: String, mode: UInt32, flags: FUSEOpenFlags) -> Result<FUSEFileHandle, FUSEError>?
    /// Asked right after `open` (and `create`) succeeded: whether the kernel may keep the
    /// pages of the file it cached before this open (FOPEN_KEEP_CACHE), so
    /// a re-read is served from the kernel's page cache without calls.
    /// Answer true only when the file cannot have changed behind the
    /// kernel's back since those pages were read (they are coherent with
    /// writes made through this mount). Default: false, the kernel drops
    /// them at every open.
    func keepsKernelCache(_ handle: FUSEFileHandle) -> Bool
    func chown(_ path: String, uid: UInt32?, gid: UInt32?, handle: FUSEFileHandle?) async throws
    func symlink(target: String, at path: String) async throws
    func readlink(_ path: String) async throws -> String
    func link(_ existing: String, to path: String) async throws
    func mknod(_ path: String, mode: UInt32, device: UInt64) async throws
}

extension FUSEFileSystem {
    public func readImmediately(_ path: String, handle: FUSEFileHandle, offset: Int64, count: Int) -> [ArraySlice<UInt8>]? { nil }
    public func getattrImmediately(_ path: String, handle: FUSEFileHandle?) -> Result<FUSEAttributes, FUSEError>? { nil }
    public func createImmediately(_ path: String, mode: UInt32, flags: FUSEOpenFlags) -> Result<FUSEFileHandle, FUSEError>? { nil }
    public func keepsKernelCache(_ handle: FUSEFileHandle) -> Bool { false }
    public func chown(_ path: String, uid: UInt32?, gid: UInt32?, handle: FUSEFileHandle?) async throws {
        throw FUSEError(errno: EPERM, "changing owners is not supported")
    }
    public func symlink(target: String, at path: String) async throws {
        throw FUSEError(errno: EPERM, "symbolic links are not supported")
    }
    public func readlink(_ path: String) async throws -> String {
        throw FUSEError(errno: EINVAL, "not a symbolic link")
    }
    public func link(_ existing: String, to path: String) async throws {
        throw FUSEError(errno: EPERM, "hard links are not supported")
    }
    public func mknod(_ path: String, mode: UInt32, device: UInt64) async throws {
        throw FUSEError(errno: EPERM, "special files are not supported")
    }
}

/// An open file, as the file system numbers it (returned by open/create, given back on every call until release).
public struct FUSEFileHandle: Hashable, Sendable {
    public var rawValue: UInt64
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
}

public enum FUSEFileKind: Sendable, Equatable {
    case regular, directory, symbolicLink
}

/// A point in time as stat(2) gives it.
public struct FUSETimestamp: Sendable, Equatable {
    public var seconds: Int64
    public var nanoseconds: Int32
    public init(seconds: Int64, nanoseconds: Int32 = 0) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }
}

/// One half of utimensat(2): leave the time, set it to now, or set it to a value.
public enum FUSETimeUpdate: Sendable, Equatable {
    case omit, now
    case set(FUSETimestamp)
}

/// stat(2)-like attributes.
public struct FUSEAttributes: Sendable, Equatable {
    public var kind: FUSEFileKind
    /// Permission bits with set-id and sticky bits (07777); the file type comes from `kind`.
    public var permissions: UInt32
    public var size: Int64
    public var linkCount: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var accessTime: FUSETimestamp
    public var modificationTime: FUSETimestamp
    public var changeTime: FUSETimestamp
    /// 512-byte blocks allocated (nil: computed from the size).
    public var blocks: Int64?

    public init(kind: FUSEFileKind, permissions: UInt32, size: Int64, linkCount: UInt32 = 1, uid: UInt32 = 0, gid: UInt32 = 0,
                accessTime: FUSETimestamp, modificationTime: FUSETimestamp, changeTime: FUSETimestamp, blocks: Int64? = nil) {
        self.kind = kind
        self.permissions = permissions & 0o7777
        self.size = size
        self.linkCount = linkCount
        self.uid = uid
        self.gid = gid
        self.accessTime = accessTime
        self.modificationTime = modificationTime
        self.changeTime = changeTime
        self.blocks = blocks
    }
}

public struct FUSEDirectoryEntry: Sendable, Equatable {
    public var name: String
    public var kind: FUSEFileKind
    public init(name: String, kind: FUSEFileKind) {
        self.name = name
        self.kind = kind
    }
}

/// open(2) flags as the kernel passes them (O_CREAT/O_EXCL are handled by the kernel and `create`).
public struct FUSEOpenFlags: Sendable, Equatable {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public enum Access: Sendable { case readOnly, writeOnly, readWrite }
    public var access: Access {
        switch rawValue & O_ACCMODE {
        case O_WRONLY: .writeOnly
        case O_RDWR: .readWrite
        default: .readOnly
        }
    }
    public var append: Bool { rawValue & O_APPEND != 0 }
    public var truncate: Bool { rawValue & O_TRUNC != 0 }
    public var exclusive: Bool { rawValue & O_EXCL != 0 }
}

/// renameat2(2) flags.
public struct FUSERenameFlags: OptionSet, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Fail with EEXIST when the target exists.
    public static let noReplace = FUSERenameFlags(rawValue: 1)
    /// Swap the two (both must exist).
    public static let exchange = FUSERenameFlags(rawValue: 2)
}

/// statvfs(2)-like numbers (all in `blockSize` units).
public struct FUSEStatFS: Sendable, Equatable {
    public var blockSize: UInt64
    public var blocks: UInt64
    public var blocksFree: UInt64
    public var blocksAvailable: UInt64
    public var files: UInt64
    public var filesFree: UInt64
    public var maxNameLength: UInt64
    public init(blockSize: UInt64, blocks: UInt64, blocksFree: UInt64, blocksAvailable: UInt64, files: UInt64, filesFree: UInt64,
                maxNameLength: UInt64 = 255) {
        self.blockSize = blockSize
        self.blocks = blocks
        self.blocksFree = blocksFree
        self.blocksAvailable = blocksAvailable
        self.files = files
        self.filesFree = filesFree
        self.maxNameLength = maxNameLength
    }
}
