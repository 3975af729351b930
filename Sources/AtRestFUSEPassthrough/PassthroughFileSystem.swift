import AtRestFUSE
internal import CAtRestLinux
import Glibc
import Synchronization

/// A `FUSEFileSystem` that passes every call to a local directory (open
/// files are its descriptors): the ceiling of any FUSE file system on this
/// machine, which `atrest-bench fuse` and the files benchmark compare with,
/// and the file system the FUSE wrapper's tests mount
/// (`atrest-fuse-passthrough`, docs/OPERATIONS.md "FUSE passthrough").
/// Supports symbolic links and owners too; hard links, special files and
/// xattrs answer as `FUSEFileSystem` documents.
public struct PassthroughFileSystem: FUSEFileSystem {
    /// The directory served, absolute, without a trailing slash ("" for "/").
    public let root: String

    /// With `kernelCache`, the kernel keeps a file's pages from one open to
    /// the next when the local file is the one, unchanged, that was there at
    /// the last close through the mount: device, inode, size, mtime and
    /// ctime (nanoseconds) as fstat gave them then, noted by path. The rule
    /// `atrest mount` keeps (ShareFileSystem `KernelPages`), so the files
    /// benchmark compares like with like.
    private final class KernelPages: Sendable {
        struct Seen: Equatable {
            var device: UInt64, inode: UInt64, size: Int64
            var mtime: timespec, ctime: timespec
            static func == (a: Seen, b: Seen) -> Bool {
                a.device == b.device && a.inode == b.inode && a.size == b.size
                    && a.mtime.tv_sec == b.mtime.tv_sec && a.mtime.tv_nsec == b.mtime.tv_nsec
                    && a.ctime.tv_sec == b.ctime.tv_sec && a.ctime.tv_nsec == b.ctime.tv_nsec
            }
        }
        struct State {
            var seen: [String: Seen] = [:]
            var keep: Set<UInt64> = []
        }
        let state = Mutex(State())
    }
    private let kernelPages: KernelPages?

    private static func seen(_ descriptor: Int32) -> KernelPages.Seen? {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return nil }
        return KernelPages.Seen(device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
                                mtime: info.st_mtim, ctime: info.st_ctim)
    }

    /// Throws a `FUSEError` (ENOTDIR) when `root` is not a directory.
    /// - Parameter kernelCache: keep a file's kernel pages across close and open when it did not change (above).
    public init(root: String, kernelCache: Bool = false) throws {
        kernelPages = kernelCache ? KernelPages() : nil
        var info = stat()
        guard stat(root, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            throw FUSEError(.notADirectory, "source \(root) is not a directory", errno: ENOTDIR)
        }
        var resolved = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard realpath(root, &resolved) != nil else { throw FUSEError.lastErrno("source \(root)") }
        let path = String(cString: resolved)
        self.root = path == "/" ? "" : path
    }

    private func local(_ path: String) -> String { path == "/" ? (root.isEmpty ? "/" : root) : root + path }

    private func check(_ result: Int32, _ what: String, _ path: String) throws {
        if result != 0 { throw FUSEError.lastErrno("\(what) \(path)") }
    }

    private func fd(_ handle: FUSEFileHandle) -> Int32 { Int32(truncatingIfNeeded: handle.rawValue) }

    public func getattr(_ path: String, handle: FUSEFileHandle?) async throws -> FUSEAttributes {
        var info = stat()
        if let handle {
            try check(fstat(fd(handle), &info), "stat", path)
        } else {
            try check(lstat(local(path), &info), "stat", path)
        }
        let kind: FUSEFileKind = switch info.st_mode & S_IFMT {
        case S_IFDIR: .directory
        case S_IFLNK: .symbolicLink
        default: .regular
        }
        func time(_ value: timespec) -> FUSETimestamp { FUSETimestamp(seconds: Int64(value.tv_sec), nanoseconds: Int32(value.tv_nsec)) }
        return FUSEAttributes(kind: kind, permissions: UInt32(info.st_mode) & 0o7777, size: Int64(info.st_size),
                              linkCount: UInt32(info.st_nlink), uid: info.st_uid, gid: info.st_gid,
                              accessTime: time(info.st_atim), modificationTime: time(info.st_mtim), changeTime: time(info.st_ctim),
                              blocks: Int64(info.st_blocks))
    }

    public func readdir(_ path: String) async throws -> [FUSEDirectoryEntry] {
        guard let directory = opendir(local(path)) else { throw FUSEError.lastErrno("list \(path)") }
        defer { closedir(directory) }
        var entries: [FUSEDirectoryEntry] = []
        while true {
            errno = 0
            guard let entry = Glibc.readdir(directory) else {
                if errno != 0 { throw FUSEError.lastErrno("list \(path)") }
                return entries
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            let kind: FUSEFileKind = switch Int32(entry.pointee.d_type) {
            case Int32(DT_DIR): .directory
            case Int32(DT_LNK): .symbolicLink
            default: .regular
            }
            entries.append(FUSEDirectoryEntry(name: name, kind: kind))
        }
    }

    public func mkdir(_ path: String, mode: UInt32) async throws {
        try check(Glibc.mkdir(local(path), mode_t(mode)), "mkdir", path)
    }

    public func rmdir(_ path: String) async throws {
        try check(Glibc.rmdir(local(path)), "rmdir", path)
    }

    public func create(_ path: String, mode: UInt32, flags: FUSEOpenFlags) async throws -> FUSEFileHandle {
        let descriptor = Glibc.open(local(path), flags.rawValue | O_CREAT | O_CLOEXEC, mode_t(mode))
        guard descriptor >= 0 else { throw FUSEError.lastErrno("create \(path)") }
        return FUSEFileHandle(UInt64(descriptor))
    }

    public func open(_ path: String, flags: FUSEOpenFlags) async throws -> FUSEFileHandle {
        let descriptor = Glibc.open(local(path), flags.rawValue | O_CLOEXEC)
        guard descriptor >= 0 else { throw FUSEError.lastErrno("open \(path)") }
        if let kernelPages, flags.rawValue & O_TRUNC == 0, let now = Self.seen(descriptor) {
            kernelPages.state.withLock { state in
                if state.seen[path] == now { state.keep.insert(UInt64(descriptor)) }
            }
        }
        return FUSEFileHandle(UInt64(descriptor))
    }

    public func keepsKernelCache(_ handle: FUSEFileHandle) -> Bool {
        kernelPages?.state.withLock { $0.keep.remove(handle.rawValue) != nil } ?? false
    }

    public func read(_ path: String, handle: FUSEFileHandle, offset: Int64, count: Int) async throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        try bytes.withUnsafeMutableBytes { buffer in
            while done < count {
                let n = pread(fd(handle), buffer.baseAddress! + done, count - done, off_t(offset) + off_t(done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw FUSEError.lastErrno("read \(path)")
                }
                if n == 0 { break }
                done += n
            }
        }
        bytes.removeLast(count - done)
        return bytes
    }

    public func write(_ path: String, handle: FUSEFileHandle, offset: Int64, bytes: [UInt8]) async throws -> Int {
        var done = 0
        try bytes.withUnsafeBytes { buffer in
            while done < buffer.count {
                let n = pwrite(fd(handle), buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw FUSEError.lastErrno("write \(path)")
                }
                done += n
            }
        }
        return done
    }

    public func truncate(_ path: String, size: Int64, handle: FUSEFileHandle?) async throws {
        if let handle {
            try check(ftruncate(fd(handle), off_t(size)), "truncate", path)
        } else {
            try check(Glibc.truncate(local(path), off_t(size)), "truncate", path)
        }
    }

    public func unlink(_ path: String) async throws {
        try check(Glibc.unlink(local(path)), "unlink", path)
    }

    public func rename(_ from: String, to: String, flags: FUSERenameFlags) async throws {
        if flags.isEmpty {
            try check(Glibc.rename(local(from), local(to)), "rename", from)
        } else {
            try check(atrest_linux_rename_flags(local(from), local(to), flags.rawValue), "rename", from)
        }
    }

    public func chmod(_ path: String, mode: UInt32, handle: FUSEFileHandle?) async throws {
        if let handle {
            try check(fchmod(fd(handle), mode_t(mode)), "chmod", path)
        } else {
            try check(Glibc.chmod(local(path), mode_t(mode)), "chmod", path)
        }
    }

    public func chown(_ path: String, uid: UInt32?, gid: UInt32?, handle: FUSEFileHandle?) async throws {
        let owner = uid ?? uid_t.max, group = gid ?? gid_t.max
        if let handle {
            try check(fchown(fd(handle), owner, group), "chown", path)
        } else {
            try check(lchown(local(path), owner, group), "chown", path)
        }
    }

    public func utimens(_ path: String, access: FUSETimeUpdate, modification: FUSETimeUpdate, handle: FUSEFileHandle?) async throws {
        func spec(_ update: FUSETimeUpdate) -> timespec {
            switch update {
            case .omit: timespec(tv_sec: 0, tv_nsec: atrest_linux_utime_omit)
            case .now: timespec(tv_sec: 0, tv_nsec: atrest_linux_utime_now)
            case .set(let time): timespec(tv_sec: Int(time.seconds), tv_nsec: Int(time.nanoseconds))
            }
        }
        let times = [spec(access), spec(modification)]
        if let handle {
            try check(futimens(fd(handle), times), "utimens", path)
        } else {
            try check(utimensat(AT_FDCWD, local(path), times, AT_SYMLINK_NOFOLLOW), "utimens", path)
        }
    }

    public func fsync(_ path: String, handle: FUSEFileHandle?, dataOnly: Bool) async throws {
        if let handle {
            try check(dataOnly ? fdatasync(fd(handle)) : Glibc.fsync(fd(handle)), "fsync", path)
            return
        }
        let descriptor = Glibc.open(local(path), O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FUSEError.lastErrno("fsync \(path)") }
        defer { close(descriptor) }
        try check(Glibc.fsync(descriptor), "fsync", path)
    }

    /// Nothing to do: writes went to the local file already.
    public func flush(_ path: String, handle: FUSEFileHandle) async throws {}

    public func release(_ path: String, handle: FUSEFileHandle) async throws {
        if let kernelPages {
            let now = Self.seen(fd(handle))
            kernelPages.state.withLock { state in
                if state.seen.count >= 100_000, state.seen[path] == nil { state.seen.removeAll(keepingCapacity: true) }
                state.seen[path] = now
            }
        }
        try check(close(fd(handle)), "close", path)
    }

    public func statfs(_ path: String) async throws -> FUSEStatFS {
        var info = statvfs()
        try check(statvfs(local(path), &info), "statfs", path)
        return FUSEStatFS(blockSize: UInt64(info.f_frsize), blocks: UInt64(info.f_blocks), blocksFree: UInt64(info.f_bfree),
                          blocksAvailable: UInt64(info.f_bavail), files: UInt64(info.f_files), filesFree: UInt64(info.f_ffree),
                          maxNameLength: UInt64(info.f_namemax))
    }

    public func symlink(target: String, at path: String) async throws {
        try check(Glibc.symlink(target, local(path)), "symlink", path)
    }

    public func readlink(_ path: String) async throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = Glibc.readlink(local(path), &buffer, buffer.count - 1)
        guard n >= 0 else { throw FUSEError.lastErrno("readlink \(path)") }
        return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
