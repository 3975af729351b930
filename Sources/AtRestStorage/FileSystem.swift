import Glibc

/// The POSIX calls the store needs, with EINTR retried and errno turned into
/// `StorageError(.io)` in one place.
enum FileSystem {
    /// Names in `path` (without "." and ".."); empty when it does not exist.
    static func list(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else {
            if errno == ENOENT { return [] }
            throw SystemCall.error("opendir", path)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// Creates `path` if missing and makes the new entry durable in its parent.
    static func makeDirectory(_ path: String) throws {
        if mkdir(path, 0o700) == 0 {
            try syncDirectory(parent(of: path))
        } else if errno != EEXIST {
            throw SystemCall.error("mkdir", path)
        }
    }

    static func syncDirectory(_ path: String) throws {
        let fd = try SystemCall.retrying("open", path) { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        defer { close(fd) }
        try SystemCall.retrying("fsync", path) { fsync(fd) }
    }

    /// Opens for reading; nil when the file does not exist. The descriptor
    /// holds a shared `flock` until it is closed, and is returned only once it
    /// is still the file linked at `path`: a writer reuses a replaced file's
    /// inode (`SparePool`) only under an exclusive lock, so a file being read
    /// is never rewritten underneath its reader, and a file recycled between
    /// this open and the lock is noticed here and opened afresh.
    static func openForReading(_ path: String) throws -> Int32? {
        for _ in 0..<100 {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 {
                if errno == EINTR { continue }
                if errno == ENOENT { return nil }
                throw SystemCall.error("open", path)
            }
            while flock(fd, LOCK_SH) != 0 {
                guard errno == EINTR else {
                    let error = SystemCall.error("flock", path)
                    close(fd)
                    throw error
                }
            }
            var opened = stat(), linked = stat()
            guard fstat(fd, &opened) == 0 else {
                let error = SystemCall.error("fstat", path)
                close(fd)
                throw error
            }
            if stat(path, &linked) == 0, linked.st_ino == opened.st_ino, linked.st_dev == opened.st_dev { return fd }
            close(fd)  // replaced (or recycled) since the open: open what is there now
        }
        throw StorageError(.io, "'\(path)' kept being replaced while it was opened; try again")
    }

    /// Removes a file; false when it was already gone.
    @discardableResult
    static func remove(_ path: String) throws -> Bool {
        if unlink(path) == 0 { return true }
        if errno == ENOENT { return false }
        throw SystemCall.error("unlink", path)
    }

    static func modificationTime(_ path: String) -> time_t? {
        var st = stat()
        return stat(path, &st) == 0 ? st.st_mtim.tv_sec : nil
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// Writes all of `bytes` at the current offset.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var done = 0
        while done < bytes.count {
            let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw SystemCall.error("write", path) }
            done += n
        }
    }

    /// Writes all of `bytes` at `offset`.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int, path: String) throws {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw SystemCall.error("pwrite", path) }
            done += n
        }
    }
}
