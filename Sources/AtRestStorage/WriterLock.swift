import AtRestCrypto
import Glibc

/// The liveness token of one `ObjectStore` instance: an exclusive `flock` on
/// `<store>/.writers/<id>.lock`, held for the instance's lifetime. Temp files
/// carry the id in their names, so a store opening the directory (in any
/// process on any host sharing it) can tell a dead writer's leftovers (lock
/// free or gone) from a live writer's files (lock held).
///
/// Why not a lock per temp file: there is a moment between creating a file and
/// locking it in which another process's clean-up would see it unlocked and
/// delete it under a live writer (seen as a failed rename when a worker
/// started while others wrote).
final class WriterLock: Sendable {
    let id: String
    private let directory: String
    private let descriptor: Int32

    init(storeDirectory: String) throws {
        directory = "\(storeDirectory)/.writers"
        try FileSystem.makeDirectory(directory)
        id = Hex.encode(try SecureRandom.bytes(8))
        let path = "\(directory)/\(id).lock"
        descriptor = try SystemCall.retrying("open", path) { open(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0o600) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let error = SystemCall.error("flock", path)
            close(descriptor)
            unlink(path)
            throw error
        }
    }

    /// Whether the store instance `owner` still holds its lock. Unknown
    /// owners (no lock file) are gone; a free lock is also removed.
    func isAlive(_ owner: String) -> Bool {
        if owner == id { return true }
        let path = "\(directory)/\(owner).lock"
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return true }
        unlink(path)
        return false
    }

    deinit {
        unlink("\(directory)/\(id).lock")
        close(descriptor)
    }
}
