import Glibc

/// Group commit of directory fsyncs for one store instance.
///
/// A rename is durable once an fsync of its directory that *started after
/// the rename* has completed. Writers that publish into the same directory at
/// the same time (the staged blocks of one upload, small puts of several
/// callers) share one fsync instead of queueing one each: a caller arriving
/// while a sync runs waits for the next one, which covers every rename made
/// before it started. Callers block (they run on the store's I/O threads,
/// never on the cooperative pool).
///
/// Announced commits (`expect`, from the committing threads before their
/// `fdatasync`): a caller that would start an fsync while commits announced
/// for the same directory have not reached `sync` yet waits for them, at
/// most `linger`, so that one fsync covers their renames too. Without that,
/// a few concurrent puts almost never shared one (measured: 1,224 directory
/// fsyncs for 1,252 puts at 4 callers): each arrived while the previous
/// caller's fsync ran and so needed the next. Waiting only delays when an
/// fsync starts; a caller still returns only after one that started after
/// it arrived.
final class DirectorySync: @unchecked Sendable {
    private struct State {
        var started: UInt64 = 0
        var done: UInt64 = 0
        var busy = false
        var users = 0
        /// Commits announced for this directory that have not called `sync` yet.
        var coming = 0
    }

    /// The longest a caller holds back an fsync for announced commits, by
    /// default: about one `fdatasync` of a small file on this machine's disk.
    static let defaultLinger: Duration = .milliseconds(1)
    let linger: Duration

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Guarded by `mutex`; an entry lives while a caller uses it or a commit is announced.
    private var states: [String: State] = [:]
    /// Directory fsyncs started, all directories (guarded by `mutex`; for tests).
    private var fsyncs = 0

    /// Directory fsyncs this instance started so far.
    var fsyncCount: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return fsyncs
    }

    init(linger: Duration = DirectorySync.defaultLinger) {
        self.linger = linger
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Announces a commit that will call `sync(directory, expected: true)`
    /// (or `withdraw`) soon.
    func expect(_ directory: String) {
        pthread_mutex_lock(mutex)
        states[directory, default: State()].coming += 1
        pthread_mutex_unlock(mutex)
    }

    /// Takes back an announcement whose commit failed before its `sync`.
    func withdraw(_ directory: String) {
        pthread_mutex_lock(mutex)
        arrived(directory)
        dropIfUnused(directory)
        pthread_mutex_unlock(mutex)
    }

    /// Returns once an fsync of `directory` that started after this call
    /// began has succeeded; throws the error of the attempt this caller made.
    /// `expected`: the caller announced itself with `expect`.
    func sync(_ directory: String, expected: Bool = false) throws {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        states[directory, default: State()].users += 1
        if expected { arrived(directory) }
        defer {
            states[directory]!.users -= 1
            dropIfUnused(directory)
        }
        let needed = states[directory]!.started + 1
        var lingerUntil: timespec?
        while states[directory]!.done < needed {
            if states[directory]!.busy {
                pthread_cond_wait(condition, mutex)
                continue
            }
            if states[directory]!.coming > 0 {
                let deadline = lingerUntil ?? Self.deadline(after: linger)
                lingerUntil = deadline
                var wait = deadline
                if pthread_cond_timedwait(condition, mutex, &wait) != ETIMEDOUT { continue }
                // The bound passed: start without the ones still coming.
            }
            states[directory]!.busy = true
            states[directory]!.started += 1
            fsyncs += 1
            let generation = states[directory]!.started
            pthread_mutex_unlock(mutex)
            let result = Result { try FileSystem.syncDirectory(directory) }
            pthread_mutex_lock(mutex)
            states[directory]!.busy = false
            // A failed sync covers no one: the waiters start another.
            if case .success = result { states[directory]!.done = generation }
            pthread_cond_broadcast(condition)
            try result.get()
        }
    }

    /// An announced commit reached `sync` or gave up (mutex held): wakes a
    /// caller holding back its fsync for it.
    private func arrived(_ directory: String) {
        guard let coming = states[directory]?.coming, coming > 0 else { return }
        states[directory]!.coming = coming - 1
        pthread_cond_broadcast(condition)
    }

    private func dropIfUnused(_ directory: String) {
        if let state = states[directory], state.users == 0, state.coming == 0, !state.busy { states[directory] = nil }
    }

    private static func deadline(after duration: Duration) -> timespec {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let total = Int64(now.tv_nsec) + duration.components.attoseconds / 1_000_000_000 + duration.components.seconds * 1_000_000_000
        return timespec(tv_sec: now.tv_sec + Int(total / 1_000_000_000), tv_nsec: Int(total % 1_000_000_000))
    }
}
