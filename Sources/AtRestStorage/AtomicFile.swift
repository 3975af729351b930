import AtRestCrypto
import Glibc

/// One file written atomically: data goes to `.tmp-<owner>-<random>` in the
/// target directory, then fsync, rename over the final name, fsync of the
/// directory. A crash at any point leaves the old file or the new one, never
/// a mix.
///
/// `owner` is the writing store's instance id (`WriterLock`): `cleanLeftovers`
/// removes a temp file only when its owner's lock is free, i.e. that store
/// instance (in this process or another one sharing the directory) is gone.
/// The owner's lock exists before any of its temp files, so there is no
/// window in which a live writer's file looks abandoned.
final class AtomicFile {
    static let tempPrefix = ".tmp-"

    let directory: String
    let tempPath: String
    private(set) var descriptor: Int32
    private var done = false

    init(directory: String, owner: String) throws {
        self.directory = directory
        let suffix = Hex.encode(try SecureRandom.bytes(12))
        tempPath = "\(directory)/\(Self.tempPrefix)\(owner)-\(suffix)"
        let path = tempPath
        descriptor = try SystemCall.retrying("open", path) { open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600) }
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

    /// Removes temp files in `directory` whose owning store instance is gone.
    static func cleanLeftovers(in directory: String, writers: WriterLock) throws -> Int {
        var removed = 0
        for name in try FileSystem.list(directory) where name.hasPrefix(tempPrefix) {
            let rest = name.dropFirst(tempPrefix.count)
            let owner = String(rest.prefix { $0 != "-" })
            if writers.isAlive(owner) { continue }
            if (try? FileSystem.remove("\(directory)/\(name)")) == true { removed += 1 }
        }
        return removed
    }
}
