import AtRestCrypto
import Glibc

/// The few file operations the identity service needs, over POSIX calls, with
/// EINTR retried and errno turned into a message naming the path.
enum FileIO {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func errorText(_ operation: String, _ path: String) -> Failure {
        Failure(description: "\(operation) '\(path)' failed: \(String(cString: strerror(errno)))")
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// Creates `path` (and parents) with mode 0700 when missing.
    static func makeDirectory(_ path: String) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o700) != 0 && errno != EEXIST { throw errorText("mkdir", current) }
        }
    }

    /// The whole file, or nil when it does not exist.
    static func read(_ path: String) throws -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw errorText("open", path)
        }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw errorText("read", path)
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[..<n])
        }
        return out
    }

    /// Reads a small secret file straight into `SecretBytes` (no intermediate array to leak).
    static func readSecret(_ path: String, expectedCount: Int) throws -> SecretBytes? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw errorText("open", path)
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw errorText("stat", path) }
        guard info.st_mode & 0o077 == 0 else {
            throw Failure(description: "'\(path)' is readable by group or others (mode \(String(info.st_mode & 0o777, radix: 8))); run chmod 600 on it")
        }
        guard Int(info.st_size) == expectedCount else {
            throw Failure(description: "'\(path)' must hold exactly \(expectedCount) bytes, it has \(info.st_size)")
        }
        return try SecretBytes(count: expectedCount) { buffer in
            var done = 0
            while done < expectedCount {
                let n = Glibc.read(fd, buffer.baseAddress! + done, expectedCount - done)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw errorText("read", path) }
                done += n
            }
        }
    }

    /// Writes `bytes` so that a crash leaves either the old or the new file:
    /// temp file (same directory, mode `mode`), write, fsync, rename, fsync directory.
    static func writeAtomically(_ bytes: some ContiguousBytes, to path: String, mode: mode_t = 0o600) throws {
        let directory = parentDirectory(of: path)
        let temp = "\(path).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw errorText("create", temp) }
        do {
            try writeAll(fd, bytes, path: temp)
            guard fsync(fd) == 0 else { throw errorText("fsync", temp) }
            close(fd)
        } catch {
            close(fd)
            unlink(temp)
            throw error
        }
        guard rename(temp, path) == 0 else {
            let failure = errorText("rename", temp)
            unlink(temp)
            throw failure
        }
        try syncDirectory(directory)
    }

    /// Creates a new file only if none exists (O_EXCL), durably; false when it already existed.
    static func createExclusive(_ bytes: some ContiguousBytes, at path: String, mode: mode_t = 0o600) throws -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        if fd < 0 {
            if errno == EEXIST { return false }
            throw errorText("create", path)
        }
        defer { close(fd) }
        try writeAll(fd, bytes, path: path)
        guard fsync(fd) == 0 else { throw errorText("fsync", path) }
        try syncDirectory(parentDirectory(of: path))
        return true
    }

    /// Writes every byte, retrying short writes and EINTR.
    private static func writeAll(_ fd: Int32, _ bytes: some ContiguousBytes, path: String) throws {
        try bytes.withUnsafeBytes { buffer in
            var done = 0
            while done < buffer.count {
                let n = write(fd, buffer.baseAddress! + done, buffer.count - done)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw errorText("write", path) }
                done += n
            }
        }
    }

    static func syncDirectory(_ directory: String) throws {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw errorText("open directory", directory) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw errorText("fsync directory", directory) }
    }

    static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
