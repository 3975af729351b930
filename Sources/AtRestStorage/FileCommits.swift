import Glibc
import Synchronization

/// Group commit of a `LocalBackend`'s puts (issue 19, small objects).
///
/// A put's commit used to run whole on a `BlockingIO` thread: write,
/// `fdatasync`, switch, directory fsync. On Linux that dispatch queue has
/// about as many threads as cores, so with 16 concurrent small puts two or
/// three were in an fsync at a time and the rest queued behind them. Here a
/// commit is queued to this store instance's own committing threads (up to
/// `maxThreads`, started when a commit finds none idle, ended after
/// `idleSeconds` without work), which for each file: write out what it still
/// gathers and start writeback, `fdatasync`, publish (the caller's switch
/// under the container lock: the condition, then exchange, rename or link),
/// fsync the directory through `DirectorySync` (one fsync covers every
/// switch made before it started), then offer a file replaced by an
/// exchange as a spare (`Published`), and answer. So up to 16 `fdatasync`s
/// are in flight together (the block layer merges their device flushes) and
/// directory fsyncs are shared, while the dispatch queue stays free.
///
/// Durability is unchanged: a file is published only after its own
/// `fdatasync` succeeded, and a put is answered only after an fsync of its
/// directory that started after its switch; a crash at any point leaves old
/// or new files, never a torn one (the next open removes dead writers' temp
/// files). Several processes sharing the directory each have their own
/// threads; their switches meet under the container lock as before.
///
/// Tried first: one leader fsyncing a whole batch file by file; on ext4
/// without a journal each `fdatasync` pays its own device flush, so that
/// serialised them (docs/DATA-PATH.md "Small objects: group commit").
final class FileCommits: @unchecked Sendable {
    private struct Pending: @unchecked Sendable {
        /// Used only by the committing thread that takes it.
        let file: AtomicFile
        let publish: @Sendable (_ tempPath: String) throws -> Published
        var continuation: CheckedContinuation<BackendVersion, any Error>? = nil
    }

    /// What a put's switch did: its version, and whether the temp path now
    /// holds the file it replaced (`RENAME_EXCHANGE`), which is offered as a
    /// spare only once the switch is durable: reused before, a crash could
    /// bring the old name back onto a rewritten inode.
    struct Published {
        var version: BackendVersion
        var replaced: Bool
    }

    private struct State {
        var queued: [Pending] = []
        /// Committing threads, and how many of them wait for work.
        var threads = 0
        var idle = 0
    }

    /// Committing threads per store at most (commits in flush at once);
    /// 0: each commit runs on `BlockingIO` as before (for comparisons,
    /// `LocalBackend.commitThreads`).
    static let maxThreads = Atomic<Int>(16)
    /// An idle committing thread ends after this long without work.
    static let idleSeconds = 2

    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Guarded by `lock`.
    nonisolated(unsafe) private var state = State()
    init() {
        pthread_mutex_init(lock, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(wake, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        // Every thread holds the instance (`run`): none is left here.
        pthread_cond_destroy(wake)
        pthread_mutex_destroy(lock)
        wake.deallocate()
        lock.deallocate()
    }

    /// Makes `file` durable, lets `publish` switch it into place (dropping
    /// the temp file when it throws), makes the switch durable and returns
    /// the version `publish` gave.
    func commit(_ file: AtomicFile, publish: @escaping @Sendable (_ tempPath: String) throws -> Published) async throws -> BackendVersion {
        if Self.maxThreads.load(ordering: .relaxed) == 0 {
            let pending = Pending(file: file, publish: publish)
            return try await BlockingIO.run { [self] in try commit(pending).get() }
        }
        return try await withCheckedThrowingContinuation { continuation in
            pthread_mutex_lock(lock)
            state.queued.append(Pending(file: file, publish: publish, continuation: continuation))
            let spawn = state.idle == 0 && state.threads < Self.maxThreads.load(ordering: .relaxed)
            if spawn { state.threads += 1 } else { pthread_cond_signal(wake) }
            pthread_mutex_unlock(lock)
            if spawn && !startThread() {
                // No thread: commit on the dispatch queue instead.
                pthread_mutex_lock(lock)
                state.threads -= 1
                pthread_mutex_unlock(lock)
                BlockingIO.start { self.drain() }
            }
        }
    }

    private func startThread() -> Bool {
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        guard pthread_create(&thread, nil, { context in
            let commits = Unmanaged<FileCommits>.fromOpaque(context!).takeRetainedValue()
            commits.run()
            return nil
        }, context) == 0 else {
            Unmanaged<FileCommits>.fromOpaque(context).release()
            return false
        }
        pthread_detach(thread)
        return true
    }

    /// A committing thread: one queued commit at a time, until idle for `idleSeconds`.
    private func run() {
        pthread_mutex_lock(lock)
        while true {
            if !state.queued.isEmpty {
                let pending = state.queued.removeFirst()
                pthread_mutex_unlock(lock)
                commitAndAnswer(consume pending)
                pthread_mutex_lock(lock)
                continue
            }
            var deadline = timespec()
            clock_gettime(CLOCK_MONOTONIC, &deadline)
            deadline.tv_sec += Self.idleSeconds
            state.idle += 1
            let waited = pthread_cond_timedwait(wake, lock, &deadline)
            state.idle -= 1
            if waited == ETIMEDOUT && state.queued.isEmpty {
                state.threads -= 1
                pthread_mutex_unlock(lock)
                return
            }
        }
    }

    /// Commits what is queued, on the calling thread (no thread could be started).
    private func drain() {
        while true {
            pthread_mutex_lock(lock)
            let pending = state.queued.isEmpty ? nil : state.queued.removeFirst()
            pthread_mutex_unlock(lock)
            guard let pending else { return }
            commitAndAnswer(consume pending)
        }
    }

    /// Commits and answers, dropping what the commit captured (the upload,
    /// its backend and writer lock) before the caller resumes: a caller that
    /// closes its store right after must find it released.
    private func commitAndAnswer(_ pending: consuming Pending) {
        var held: Pending? = consume pending
        let result = commit(held!)
        let continuation = held!.continuation!
        held = nil
        continuation.resume(with: result)
    }

    /// The steps for one file.
    private func commit(_ pending: Pending) -> Result<BackendVersion, any Error> {
        let file = pending.file
        // Lets a commit about to fsync this directory wait for this one's switch (`DirectorySync`).
        file.announceDirectorySync()
        do {
            try file.writeOut()
            try file.syncData()
            let published = try pending.publish(file.tempPath)
            file.published()
            try file.syncDirectory()
            if published.replaced { file.keepOrRemoveReplaced(at: file.tempPath) }
            return .success(published.version)
        } catch {
            file.abort()
            return .failure(error)
        }
    }
}

extension LocalBackend {
    /// Committing threads per store (`FileCommits`), for benchmarks: 0
    /// commits each put on the dispatch queue, as before group commit.
    public static var commitThreads: Int {
        get { FileCommits.maxThreads.load(ordering: .relaxed) }
        set { FileCommits.maxThreads.store(max(0, newValue), ordering: .relaxed) }
    }
}
