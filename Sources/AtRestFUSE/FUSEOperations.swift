internal import CFuse3
import Dispatch
import Glibc

/// What libfuse hands every callback (`fuse_get_context()->private_data`).
final class FUSEContext: @unchecked Sendable {
    let fileSystem: any FUSEFileSystem
    let options: FUSEMountOptions
    init(fileSystem: any FUSEFileSystem, options: FUSEMountOptions) {
        self.fileSystem = fileSystem
        self.options = options
    }

    static var current: FUSEContext {
        Unmanaged<FUSEContext>.fromOpaque(fuse_get_context()!.pointee.private_data).takeUnretainedValue()
    }
}

/// The result of one call, written by its task and read by the FUSE thread after the semaphore.
private final class CallResult<T>: @unchecked Sendable {
    var value: Result<T, FUSEError> = .failure(FUSEError(errno: EIO))
}

/// Runs one file system method on a task and blocks this FUSE thread (one
/// of libfuse's, never a Swift concurrency thread) until it finishes.
private func call<T>(_ body: @escaping @Sendable (any FUSEFileSystem) async throws -> T) -> Result<T, FUSEError> {
    let fileSystem = FUSEContext.current.fileSystem
    let done = DispatchSemaphore(value: 0)
    let result = CallResult<T>()
    Task.detached {
        do {
            result.value = .success(try await body(fileSystem))
        } catch let error as FUSEError {
            result.value = .failure(error)
        } catch {
            result.value = .failure(FUSEError(errno: EIO, "\(error)"))
        }
        done.signal()
    }
    done.wait()
    return result.value
}

/// 0 or -errno, as libfuse wants.
private func status(_ result: Result<Void, FUSEError>) -> Int32 {
    switch result {
    case .success: 0
    case .failure(let error): -error.errno
    }
}

private func handle(_ info: UnsafeMutablePointer<fuse_file_info>?) -> FUSEFileHandle? {
    info.map { FUSEFileHandle($0.pointee.fh) }
}

private func typeBits(_ kind: FUSEFileKind) -> mode_t {
    switch kind {
    case .regular: S_IFREG
    case .directory: S_IFDIR
    case .symbolicLink: S_IFLNK
    }
}

private func fill(_ stat: UnsafeMutablePointer<stat>, _ attributes: FUSEAttributes) {
    var value = Glibc.stat()
    value.st_mode = typeBits(attributes.kind) | mode_t(attributes.permissions & 0o7777)
    value.st_nlink = nlink_t(attributes.linkCount)
    value.st_uid = attributes.uid
    value.st_gid = attributes.gid
    value.st_size = off_t(attributes.size)
    value.st_blksize = 4096
    value.st_blocks = blkcnt_t(attributes.blocks ?? (attributes.size + 511) / 512)
    value.st_atim = timespec(tv_sec: Int(attributes.accessTime.seconds), tv_nsec: Int(attributes.accessTime.nanoseconds))
    value.st_mtim = timespec(tv_sec: Int(attributes.modificationTime.seconds), tv_nsec: Int(attributes.modificationTime.nanoseconds))
    value.st_ctim = timespec(tv_sec: Int(attributes.changeTime.seconds), tv_nsec: Int(attributes.changeTime.nanoseconds))
    stat.pointee = value
}

private func timeUpdate(_ time: timespec) -> FUSETimeUpdate {
    if time.tv_nsec == atrest_fuse_utime_now { return .now }
    if time.tv_nsec == atrest_fuse_utime_omit { return .omit }
    return .set(FUSETimestamp(seconds: Int64(time.tv_sec), nanoseconds: Int32(time.tv_nsec)))
}

/// The callbacks libfuse calls, each turning C arguments into Swift values,
/// calling the file system, and the result back into C.
func makeOperations() -> fuse_operations {
    var ops = fuse_operations()
    ops.`init` = { connection, config in
        let context = FUSEContext.current
        if let config {
            config.pointee.entry_timeout = context.options.entryTimeout
            config.pointee.attr_timeout = context.options.attributeTimeout
            config.pointee.negative_timeout = context.options.negativeTimeout
            config.pointee.use_ino = 0
            config.pointee.hard_remove = context.options.hardRemove ? 1 : 0
        }
        if let connection {
            connection.pointee.max_write = min(connection.pointee.max_write, UInt32(context.options.maxWrite))
        }
        return fuse_get_context()!.pointee.private_data
    }
    ops.getattr = { path, stat, info in
        guard let path, let stat else { return -EINVAL }
        let name = String(cString: path), file = handle(info)
        switch FUSEContext.current.fileSystem.getattrImmediately(name, handle: file) ?? call({ try await $0.getattr(name, handle: file) }) {
        case .success(let attributes):
            fill(stat, attributes)
            return 0
        case .failure(let error): return -error.errno
        }
    }
    ops.readdir = { path, buffer, filler, _, _, _ in
        guard let path, let filler else { return -EINVAL }
        let name = String(cString: path)
        switch call({ try await $0.readdir(name) }) {
        case .success(let entries):
            var entry = Glibc.stat()
            entry.st_mode = S_IFDIR
            _ = filler(buffer, ".", &entry, 0, fuse_fill_dir_flags(0))
            _ = filler(buffer, "..", &entry, 0, fuse_fill_dir_flags(0))
            for item in entries {
                entry.st_mode = typeBits(item.kind)
                if filler(buffer, item.name, &entry, 0, fuse_fill_dir_flags(0)) != 0 { return -ENOMEM }
            }
            return 0
        case .failure(let error): return -error.errno
        }
    }
    ops.mkdir = { path, mode in
        guard let path else { return -EINVAL }
        let name = String(cString: path)
        return status(call { try await $0.mkdir(name, mode: UInt32(mode)) })
    }
    ops.rmdir = { path in
        guard let path else { return -EINVAL }
        let name = String(cString: path)
        return status(call { try await $0.rmdir(name) })
    }
    ops.unlink = { path in
        guard let path else { return -EINVAL }
        let name = String(cString: path)
        return status(call { try await $0.unlink(name) })
    }
    ops.create = { path, mode, info in
        guard let path, let info else { return -EINVAL }
        let name = String(cString: path), flags = FUSEOpenFlags(rawValue: info.pointee.flags)
        let immediate = FUSEContext.current.fileSystem.createImmediately(name, mode: UInt32(mode), flags: flags)
        switch immediate ?? call({ try await $0.create(name, mode: UInt32(mode), flags: flags) }) {
        case .success(let file):
            info.pointee.fh = file.rawValue
            // O_CREAT of a file that exists opens it: the same rule as open.
            info.pointee.keep_cache = FUSEContext.current.fileSystem.keepsKernelCache(file) ? 1 : 0
            return 0
        case .failure(let error): return -error.errno
        }
    }
    ops.open = { path, info in
        guard let path, let info else { return -EINVAL }
        let name = String(cString: path), flags = FUSEOpenFlags(rawValue: info.pointee.flags)
        switch call({ try await $0.open(name, flags: flags) }) {
        case .success(let file):
            info.pointee.fh = file.rawValue
            info.pointee.keep_cache = FUSEContext.current.fileSystem.keepsKernelCache(file) ? 1 : 0
            return 0
        case .failure(let error): return -error.errno
        }
    }
    ops.read = { path, buffer, size, offset, info in
        guard let path, let buffer, let file = handle(info) else { return -EINVAL }
        let name = String(cString: path)
        let immediate = FUSEContext.current.fileSystem.readImmediately(name, handle: file, offset: Int64(offset), count: size)
        switch immediate.map({ .success($0) }) ?? call({ try await [$0.read(name, handle: file, offset: Int64(offset), count: size)[...]] }) {
        case .success(let pieces):
            var count = 0
            for piece in pieces where count < size {
                piece.withUnsafeBytes { bytes in
                    let take = min(bytes.count, size - count)
                    if take > 0 { (UnsafeMutableRawPointer(buffer) + count).copyMemory(from: bytes.baseAddress!, byteCount: take) }
                    count += take
                }
            }
            return Int32(count)
        case .failure(let error): return -error.errno
        }
    }
    ops.write = { path, buffer, size, offset, info in
        guard let path, let file = handle(info) else { return -EINVAL }
        let name = String(cString: path)
        let bytes = size == 0 ? [] : [UInt8](UnsafeRawBufferPointer(start: buffer, count: size))
        switch call({ try await $0.write(name, handle: file, offset: Int64(offset), bytes: bytes) }) {
        case .success(let written): return Int32(written)
        case .failure(let error): return -error.errno
        }
    }
    ops.truncate = { path, size, info in
        guard let path else { return -EINVAL }
        let name = String(cString: path), file = handle(info)
        return status(call { try await $0.truncate(name, size: Int64(size), handle: file) })
    }
    ops.rename = { from, to, flags in
        guard let from, let to else { return -EINVAL }
        let source = String(cString: from), target = String(cString: to)
        let known = atrest_fuse_rename_noreplace | atrest_fuse_rename_exchange
        guard flags & ~known == 0, flags != known else { return -EINVAL }
        return status(call { try await $0.rename(source, to: target, flags: FUSERenameFlags(rawValue: flags)) })
    }
    ops.chmod = { path, mode, info in
        guard let path else { return -EINVAL }
        let name = String(cString: path), file = handle(info)
        return status(call { try await $0.chmod(name, mode: UInt32(mode) & 0o7777, handle: file) })
    }
    ops.chown = { path, uid, gid, info in
        guard let path else { return -EINVAL }
        let name = String(cString: path), file = handle(info)
        let owner: UInt32? = uid == uid_t.max ? nil : uid, group: UInt32? = gid == gid_t.max ? nil : gid
        return status(call { try await $0.chown(name, uid: owner, gid: group, handle: file) })
    }
    ops.utimens = { path, times, info in
        guard let path else { return -EINVAL }
        let name = String(cString: path), file = handle(info)
        let access = times.map { timeUpdate($0[0]) } ?? .now, modification = times.map { timeUpdate($0[1]) } ?? .now
        return status(call { try await $0.utimens(name, access: access, modification: modification, handle: file) })
    }
    ops.fsync = { path, dataOnly, info in
        guard let path else { return -EINVAL }
        let name = String(cString: path), file = handle(info)
        return status(call { try await $0.fsync(name, handle: file, dataOnly: dataOnly != 0) })
    }
    ops.flush = { path, info in
        guard let path, let file = handle(info) else { return -EINVAL }
        let name = String(cString: path)
        return status(call { try await $0.flush(name, handle: file) })
    }
    ops.release = { path, info in
        guard let file = handle(info) else { return -EINVAL }
        let name = path.map { String(cString: $0) } ?? ""
        return status(call { try await $0.release(name, handle: file) })
    }
    ops.statfs = { path, result in
        guard let path, let result else { return -EINVAL }
        let name = String(cString: path)
        switch call({ try await $0.statfs(name) }) {
        case .success(let numbers):
            var value = statvfs()
            value.f_bsize = UInt(numbers.blockSize)
            value.f_frsize = UInt(numbers.blockSize)
            value.f_blocks = fsblkcnt_t(numbers.blocks)
            value.f_bfree = fsblkcnt_t(numbers.blocksFree)
            value.f_bavail = fsblkcnt_t(numbers.blocksAvailable)
            value.f_files = fsfilcnt_t(numbers.files)
            value.f_ffree = fsfilcnt_t(numbers.filesFree)
            value.f_favail = fsfilcnt_t(numbers.filesFree)
            value.f_namemax = UInt(numbers.maxNameLength)
            result.pointee = value
            return 0
        case .failure(let error): return -error.errno
        }
    }
    ops.symlink = { target, path in
        guard let target, let path else { return -EINVAL }
        let destination = String(cString: target), name = String(cString: path)
        return status(call { try await $0.symlink(target: destination, at: name) })
    }
    ops.readlink = { path, buffer, size in
        guard let path, let buffer, size > 0 else { return -EINVAL }
        let name = String(cString: path)
        switch call({ try await $0.readlink(name) }) {
        case .success(let target):
            // NUL-terminated, truncated to the buffer as readlink(2) does.
            let bytes = Array(target.utf8.prefix(size - 1)) + [0]
            bytes.withUnsafeBytes { UnsafeMutableRawPointer(buffer).copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
            return 0
        case .failure(let error): return -error.errno
        }
    }
    ops.link = { existing, path in
        guard let existing, let path else { return -EINVAL }
        let source = String(cString: existing), name = String(cString: path)
        return status(call { try await $0.link(source, to: name) })
    }
    ops.mknod = { path, mode, device in
        guard let path else { return -EINVAL }
        let name = String(cString: path)
        return status(call { try await $0.mknod(name, mode: UInt32(mode), device: UInt64(device)) })
    }
    // No xattr, lock, flock, fallocate, ioctl callbacks: libfuse answers ENOSYS, after which the kernel
    // answers EOPNOTSUPP (ENOTSUP) to xattr calls by itself and keeps locks local to the mount.
    return ops
}
