import Synchronization

/// Replaced and deleted files kept for reuse as the next temp file (per
/// store instance, per directory).
///
/// Publishing swaps the new file with the old one (`RENAME_EXCHANGE`), and
/// a replaced block list's block files are renamed here instead of unlinked,
/// so inodes survive under this writer's temp names instead of being freed;
/// the next write in that directory truncates and refills one instead of
/// creating a file. Why: on ext4 without a journal (this project's
/// machines), creating a file scans past every inode freed in the last
/// minutes of its block group (`recently_deleted`), holding the directory
/// lock; with every overwrite freeing an inode, a store taking ~1000 puts/s
/// paid milliseconds per create after a minute. Reuse keeps the inode count
/// flat. Bounded: at most `perDirectory` files per directory (two 64 MiB
/// uploads' worth of 4 MiB blocks), `total` files
/// and `totalBytes` bytes of stale ciphertext per store instance (the
/// reuse writes over the old blocks and cuts the rest before the file is
/// synced); never a file with other links (a
/// staged block also linked as a committed block file).
///
/// Safety with readers: a reader holds a shared `flock` on what it opened
/// and checks it is still the file at its path (`FileSystem.openForReading`);
/// a writer reuses a spare only under an exclusive non-blocking `flock`, so
/// a file someone still reads is dropped instead of rewritten. Spares are
/// temp files of their writer (`AtomicFile`): a crash leaves them to the
/// usual clean-up of a dead writer's temp files.
final class SparePool: Sendable {
    static let perDirectory = 32
    static let total = 256
    static let totalBytes: Int64 = 128 << 20

    private struct State {
        var paths: [String: [(path: String, size: Int64)]] = [:]
        var count = 0
        var bytes: Int64 = 0
    }

    private let state = Mutex(State())

    /// A spare in `directory`, if any (the caller must lock and check it).
    func take(from directory: String) -> String? {
        state.withLock { state in
            guard let spare = state.paths[directory]?.popLast() else { return nil }
            state.count -= 1
            state.bytes -= spare.size
            if state.paths[directory]!.isEmpty { state.paths[directory] = nil }
            return spare.path
        }
    }

    /// Reserves room for a file of `size` bytes in `directory`; false when
    /// the pool is full (the caller removes the file instead).
    func offer(_ path: String, size: Int64, in directory: String) -> Bool {
        state.withLock { state in
            guard state.count < Self.total, state.bytes + size <= Self.totalBytes,
                  state.paths[directory, default: []].count < Self.perDirectory else { return false }
            state.paths[directory, default: []].append((path, size))
            state.count += 1
            state.bytes += size
            return true
        }
    }
}
