import AtRestLocalState
import Glibc

/// The file calls the store needs, errors as `StorageError(.io)`. The POSIX
/// basics (exists, mkdir, directory fsync, listing, write-all, EINTR retry)
/// are `AtRestLocalState.LocalFile`'s: one implementation for every module
/// that writes files (docs/ARCHITECTURE.md); what is only the store's (the
/// locked open for reading, positioned writes) lives here.
enum FileSystem {
    /// Names in `path` (without "." and ".."); empty when it does not exist.
    static func list(_ path: String) throws -> [String] {
        try storage { () throws(LocalStateError) in try LocalFile.list(path) ?? [] }
    }

    static func exists(_ path: String) -> Bool { LocalFile.exists(path) }

    /// Creates `path` (and missing parents) and makes each new entry durable in its parent.
    static func makeDirectory(_ path: String) throws {
        try storage { () throws(LocalStateError) in try LocalFile.makeDirectory(path) }
    }

    static func syncDirectory(_ path: String) throws {
        try storage { () throws(LocalStateError) in try LocalFile.syncDirectory(path) }
    }

    /// A `LocalFile` call with its error as the store's `.io`.
    static func storage<T>(_ body: () throws(LocalStateError) -> T) throws(StorageError) -> T {
        do { return try body() } catch { throw StorageError(.io, error.message) }
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

    static func parent(of path: String) -> String { LocalFile.parentDirectory(of: path) }

    /// Writes all of `bytes` at the current offset.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        try storage { () throws(LocalStateError) in try LocalFile.writeAll(fd, raw: bytes, path: path) }
    }

    /// Writes all of `bytes` at `offset`.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int, path: String) throws {
        try storage { () throws(LocalStateError) in try LocalFile.writeAll(fd, raw: bytes, at: offset, path: path) }
    }

    /// Fills `buffer` from `offset`; the count read (less only at the end of the file).
    static func readFully(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64, path: String) throws -> Int {
        try storage { () throws(LocalStateError) in try LocalFile.readFully(fd, into: buffer, at: Int(offset), path: path) }
    }
}
