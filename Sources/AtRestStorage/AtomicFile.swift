import AtRestCrypto
import Glibc

/// One file written atomically: data goes to `.tmp-<random>` in the target
/// directory, then fsync, rename over the final name, fsync of the directory.
/// A crash at any point leaves the old file or the new one, never a mix.
///
/// The writer holds an exclusive `flock` on its temp file for its whole life,
/// so `cleanLeftovers` can tell a dead writer's file (lock free) from a live
/// one in another process sharing the directory (lock held).
final class AtomicFile {
    static let tempPrefix = ".tmp-"

    let directory: String
    let tempPath: String
    private(set) var descriptor: Int32
    private var done = false

    init(directory: String) throws {
        self.directory = directory
        let suffix = Hex.encode(try SecureRandom.bytes(12))
        tempPath = "\(directory)/\(Self.tempPrefix)\(suffix)"
        let path = tempPath
        descriptor = try SystemCall.retrying("open", path) { open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let error = SystemCall.error("flock", path)
            close(descriptor); unlink(path)
            throw error
        }
    }

    deinit { if !done { abort() } }

    func append(_ bytes: UnsafeRawBufferPointer) throws { try FileSystem.writeAll(descriptor, bytes, path: tempPath) }

    func overwrite(at offset: Int, _ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try FileSystem.writeAll(descriptor, $0, at: offset, path: tempPath) }
    }

    /// Makes the data durable and atomically replaces `name` in the directory.
    func commit(as name: String) throws {
        precondition(!done, "AtomicFile used after commit/abort")
        let path = tempPath
        try SystemCall.retrying("fsync", path) { fsync(descriptor) }
        let target = "\(directory)/\(name)"
        guard rename(path, target) == 0 else { throw SystemCall.error("rename", target) }
        done = true
        close(descriptor)
        try FileSystem.syncDirectory(directory)
    }

    /// Drops the temp file.
    func abort() {
        guard !done else { return }
        done = true
        unlink(tempPath)
        close(descriptor)
    }

    /// Removes temp files in `directory` whose writer is gone (its lock is free).
    static func cleanLeftovers(in directory: String) throws -> Int {
        var removed = 0
        for name in try FileSystem.list(directory) where name.hasPrefix(tempPrefix) {
            let path = "\(directory)/\(name)"
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            if flock(fd, LOCK_EX | LOCK_NB) == 0 {
                unlink(path)
                removed += 1
            }
        }
        return removed
    }
}
