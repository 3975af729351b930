import AtRestCrypto
import Glibc

/// Whole-file reads and crash-safe writes for small state files (keys,
/// sealed state, credentials): temp file in the same directory, write, fsync,
/// rename over the target, fsync the directory. A crash at any point leaves
/// the old or the new content, never a torn file. EINTR is retried and errno
/// becomes a `LocalStateError` naming the path.
public enum LocalFile {
    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// Creates `path` and its missing parents with mode 0700; each directory
    /// it creates is made durable in its parent (fsync of the parent).
    public static func makeDirectory(_ path: String) throws(LocalStateError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in SlashPath.split(path) {
            let parent = current.isEmpty ? "/" : current
            current += "/" + component
            if mkdir(current, 0o700) == 0 {
                try syncDirectory(parent)
            } else if errno != EEXIST {
                throw ioError("creating directory", current)
            }
        }
    }

    /// Names in `directory` (without "." and ".."), or nil when it does not exist.
    public static func list(_ directory: String) throws(LocalStateError) -> [String]? {
        guard let dir = opendir(directory) else {
            if errno == ENOENT { return nil }
            throw ioError("listing", directory)
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

    /// The whole file, or nil when it does not exist.
    public static func read(_ path: String) throws(LocalStateError) -> [UInt8]? {
        guard let fd = try openExisting(path) else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ioError("reading", path)
            }
            if n == 0 { return out }
            out.append(contentsOf: chunk[..<n])
        }
    }

    /// Replaces `path` atomically and durably with `bytes`.
    public static func writeAtomically(_ bytes: some ContiguousBytes, to path: String, mode: mode_t = 0o600) throws(LocalStateError) {
        let temp = "\(path).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw ioError("creating", temp) }
        do throws(LocalStateError) {
            try writeAll(fd, bytes, path: temp)
            guard fsync(fd) == 0 else { throw ioError("syncing", temp) }
        } catch {
            close(fd)
            unlink(temp)
            throw error
        }
        close(fd)
        guard rename(temp, path) == 0 else {
            let failure = ioError("renaming over", path)
            unlink(temp)
            throw failure
        }
        try syncDirectory(parentDirectory(of: path))
    }

    /// Creates a new file durably only if none exists (O_EXCL); false when one already did.
    public static func createExclusive(_ bytes: some ContiguousBytes, at path: String, mode: mode_t = 0o600) throws(LocalStateError) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        if fd < 0 {
            if errno == EEXIST { return false }
            throw ioError("creating", path)
        }
        defer { close(fd) }
        try writeAll(fd, bytes, path: path)
        guard fsync(fd) == 0 else { throw ioError("syncing", path) }
        try syncDirectory(parentDirectory(of: path))
        return true
    }

    /// Writes every byte at the descriptor's offset, retrying short writes and EINTR.
    public static func writeAll(_ fd: Int32, _ bytes: some ContiguousBytes, path: String) throws(LocalStateError) {
        // ContiguousBytes.withUnsafeBytes rethrows untyped errors: carry ours out in a Result.
        let result: Result<Void, LocalStateError> = bytes.withUnsafeBytes { buffer in
            do throws(LocalStateError) { try writeAll(fd, raw: buffer, path: path); return .success(()) } catch { return .failure(error) }
        }
        try result.get()
    }

    /// `writeAll` for raw memory (the store's and the client's buffers): at
    /// the descriptor's offset, or at `offset` (pwrite) when given.
    public static func writeAll(_ fd: Int32, raw bytes: UnsafeRawBufferPointer, at offset: Int? = nil, path: String) throws(LocalStateError) {
        var done = 0
        while done < bytes.count {
            let start = bytes.baseAddress! + done, left = bytes.count - done
            let n = if let offset { pwrite(fd, start, left, off_t(offset + done)) } else { write(fd, start, left) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw ioError("writing", path) }
            done += n
        }
    }

    /// Fills `buffer` from `offset` (pread), retrying short reads and EINTR;
    /// the count read, less than the buffer only where the file ends.
    public static func readFully(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int, path: String) throws(LocalStateError) -> Int {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw ioError("reading", path) }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Makes the entries of `directory` (creations, renames, removals) durable.
    public static func syncDirectory(_ directory: String) throws(LocalStateError) {
        let fd = try retrying("opening directory", directory) { open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        defer { close(fd) }
        try retrying("syncing directory", directory) { fsync(fd) }
    }

    /// Runs a system call until it does not fail with EINTR; its result, or
    /// an `.io` error naming `operation` and `path` for any other failure.
    @discardableResult
    public static func retrying(_ operation: String, _ path: String, _ call: () -> Int32) throws(LocalStateError) -> Int32 {
        while true {
            let result = call()
            if result >= 0 { return result }
            if errno != EINTR { throw ioError(operation, path) }
        }
    }

    public static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// Fails unless only the owner can read `path` (for key and credential files).
    public static func requireOwnerOnly(_ path: String, what: String) throws(LocalStateError) {
        try FileAccess.requirePrivate(path, what: what)
    }

    /// An `.io` error for the current errno.
    public static func ioError(_ operation: String, _ path: String) -> LocalStateError {
        LocalStateError(.io, "\(operation) '\(path)' failed: \(String(cString: strerror(errno)))")
    }

    private static func openExisting(_ path: String) throws(LocalStateError) -> Int32? {
        do throws(LocalStateError) {
            return try retrying("opening", path) { open(path, O_RDONLY | O_CLOEXEC) }
        } catch {
            if errno == ENOENT { return nil }
            throw error
        }
    }
}
