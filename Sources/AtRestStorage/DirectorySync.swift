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
final class DirectorySync: @unchecked Sendable {
    private struct State {
        var started: UInt64 = 0
        var done: UInt64 = 0
        var busy = false
        var users = 0
    }

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Guarded by `mutex`; an entry lives while a caller uses it.
    private var states: [String: State] = [:]

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Returns once an fsync of `directory` that started after this call
    /// began has succeeded; throws the error of the attempt this caller made.
    func sync(_ directory: String) throws {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        states[directory, default: State()].users += 1
        defer {
            states[directory]!.users -= 1
            if states[directory]!.users == 0 { states[directory] = nil }
        }
        let needed = states[directory]!.started + 1
        while states[directory]!.done < needed {
            guard !states[directory]!.busy else {
                pthread_cond_wait(condition, mutex)
                continue
            }
            states[directory]!.busy = true
            states[directory]!.started += 1
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
}
