import Synchronization

/// Replaced small files kept for reuse as the next temp file (per store
/// instance, per directory).
///
/// Publishing swaps the new file with the old one (`RENAME_EXCHANGE`), so the
/// old version's inode survives under this writer's temp name instead of
/// being freed, and the next write in that directory truncates and refills
/// it instead of creating a file. Why: on ext4 without a journal (this
/// project's machines), creating a file scans past every inode freed in the
/// last minutes of its block group (`recently_deleted`), holding the
/// directory lock; with every overwrite freeing one inode, a store taking
/// ~1000 puts/s paid milliseconds per create after a minute. Reuse keeps the
/// inode count flat. Only files of at most `maxReusableSize` are kept (the
/// old ciphertext lingers until reuse: bounded to a few MiB), never one with
/// other links (a staged block also linked as a committed block file).
///
/// Safety with readers: a reader holds a shared `flock` on what it opened
/// and checks it is still the file at its path (`FileSystem.openForReading`);
/// a writer reuses a spare only under an exclusive non-blocking `flock`, so
/// a file someone still reads is dropped instead of rewritten. Spares are temp
/// files of their writer (`AtomicFile`): a crash leaves them to the usual
/// clean-up of a dead writer's temp files.
final class SparePool: Sendable {
    static let maxReusableSize = (64 << 10) + 4096
    static let perDirectory = 8
    static let total = 256

    private struct State {
        var paths: [String: [String]] = [:]
        var count = 0
    }

    private let state = Mutex(State())

    /// A spare in `directory`, if any (the caller must lock and check it).
    func take(from directory: String) -> String? {
        state.withLock { state in
            guard let path = state.paths[directory]?.popLast() else { return nil }
            state.count -= 1
            if state.paths[directory]!.isEmpty { state.paths[directory] = nil }
            return path
        }
    }

    /// Keeps `path` for reuse; false when the pool is full (the caller removes it).
    func offer(_ path: String, in directory: String) -> Bool {
        state.withLock { state in
            guard state.count < Self.total, state.paths[directory, default: []].count < Self.perDirectory else { return false }
            state.paths[directory, default: []].append(path)
            state.count += 1
            return true
        }
    }
}
