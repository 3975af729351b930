import Glibc

/// Whole-file reads and crash-safe replacement: temp file in the same
/// directory, write, fsync, rename over the target, fsync the directory.
/// A crash at any point leaves the old or the new content, never a torn file.
enum AtomicFile {
    static func write(_ bytes: some Collection<UInt8>, to path: String, mode: mode_t = 0o600) throws(VaultError) {
        let temp = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw ioError("creating", temp) }
        let array = Array(bytes)
        var ok = array.withUnsafeBytes { writeAll(fd, $0) }
        ok = ok && fsync(fd) == 0
        let saved = errno
        close(fd)
        guard ok else { unlink(temp); errno = saved; throw ioError("writing", temp) }
        guard rename(temp, path) == 0 else { let e = ioError("renaming to", path); unlink(temp); throw e }
        syncDirectory(of: path)
    }

    /// The file's bytes, or nil when it does not exist.
    static func read(_ path: String) throws(VaultError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw ioError("opening", path)
        }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw ioError("reading", path) }
            if n == 0 { break }
            out.append(contentsOf: chunk[..<n])
        }
        return out
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 { if errno == EINTR { continue }; return false }
            offset += n
        }
        return true
    }

    static func syncDirectory(of path: String) {
        let dir = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let fd = open(dir.isEmpty ? "/" : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    static func makeDirectory(_ path: String) throws(VaultError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            prefix += "/" + part
            if mkdir(prefix, 0o700) != 0, errno != EEXIST { throw ioError("creating directory", prefix) }
        }
    }

    static func ioError(_ what: String, _ path: String) -> VaultError {
        VaultError(.io, "\(what) '\(path)' failed: \(String(cString: strerror(errno)))")
    }
}
