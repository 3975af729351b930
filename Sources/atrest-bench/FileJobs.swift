import Foundation
import Glibc

/// The file-system jobs of `atrest-bench fuse` and `atrest-bench files`,
/// run the same way on every target (a directory, a FUSE mount).
struct FileJobs {
    var sizeMiB: Int
    var files: Int
    var fileBytes: Int

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// MiB/s of writing `sizeMiB` in 1 MiB calls, then fsync and close.
    func sequentialWrite(_ path: String) throws -> Double {
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        for index in chunk.indices { chunk[index] = UInt8(truncatingIfNeeded: index &* 31 &+ 7) }
        let start = BenchClock.now()
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Failure(description: "create \(path): errno \(errno)") }
        defer { close(fd) }
        for _ in 0..<sizeMiB {
            let n = chunk.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n == chunk.count else { throw Failure(description: "write \(path): errno \(errno)") }
        }
        guard fsync(fd) == 0 else { throw Failure(description: "fsync \(path): errno \(errno)") }
        return Double(sizeMiB) / (BenchClock.now() - start)
    }

    /// MiB/s of reading the file back in 1 MiB calls (a fresh open: the mount's cached pages are dropped).
    func sequentialRead(_ path: String) throws -> Double {
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        let start = BenchClock.now()
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(description: "open \(path): errno \(errno)") }
        defer { close(fd) }
        var total = 0
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n >= 0 else { throw Failure(description: "read \(path): errno \(errno)") }
            if n == 0 { break }
            total += n
        }
        guard total == sizeMiB << 20 else { throw Failure(description: "read \(total) bytes of \(sizeMiB << 20) from \(path)") }
        return Double(total) / 1_048_576 / (BenchClock.now() - start)
    }

    /// Writes dirty pages back, then drops the machine's clean page cache
    /// (`/proc/sys/vm/drop_caches`: needs root, as mounting does), so the
    /// next read of every target comes from the device.
    static func dropCaches() throws {
        sync()
        let fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(description: "cannot open /proc/sys/vm/drop_caches (errno \(errno)): run the bench as root") }
        defer { close(fd) }
        guard write(fd, "3", 1) == 1 else { throw Failure(description: "cannot drop the page cache: errno \(errno)") }
    }

    /// Files/s of creating `files` files of `fileBytes` each in a new directory (create, write, close).
    func createFiles(_ directory: String) throws -> Double {
        let bytes = [UInt8](repeating: 0x61, count: fileBytes)
        guard mkdir(directory, 0o755) == 0 else { throw Failure(description: "mkdir \(directory): errno \(errno)") }
        let start = BenchClock.now()
        for index in 0..<files {
            let fd = open("\(directory)/f\(index)", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw Failure(description: "create in \(directory): errno \(errno)") }
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
            guard n == fileBytes else { throw Failure(description: "write in \(directory): errno \(errno)") }
        }
        return Double(files) / (BenchClock.now() - start)
    }
}
