import Dispatch

/// Runs a blocking librados call (connect, listing, monitor commands) on a
/// dispatch thread, so no thread of the cooperative pool blocks, **without
/// that thread keeping a reference** to anything the call captured or
/// returned once the waiting task resumes.
///
/// Why it matters: the last release of a `RadosPool` or `RadosCluster` runs
/// `rados_ioctx_destroy` / `rados_shutdown`. If a dispatch block still held a
/// reference when the task that owned the pool finished, that last release
/// happened on the dispatch thread whenever the block was torn down — in a
/// short-lived process such as `atrest-recover`, at the same time as
/// `exit()` ran libceph-common's static destructors, and `rados_shutdown`
/// then read a destroyed configuration table (SIGSEGV in
/// `md_config_t::find_option`, 2 runs in 60). Here the dispatch thread drops
/// the work closure before it resumes the task, and the result is taken out
/// by the task, so the owner's own release is the last one, in program order.
enum RadosBlocking {
    static func run<T>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        let job = Job(work)
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            DispatchQueue.global().async {
                job.run()
                continuation.resume()
            }
        }
        return try job.take()
    }

    /// The work and then its result, each handed over once. Accesses are
    /// ordered by the dispatch and the continuation: `run` on the dispatch
    /// thread happens before `resume`, which happens before `take`.
    private final class Job<T>: @unchecked Sendable {
        private var work: (() throws -> T)?
        private var result: Result<T, any Error>?

        init(_ work: @escaping () throws -> T) { self.work = work }

        /// Runs the work; the closure (and what it captured) is released
        /// when this returns, before the caller resumes the task.
        func run() {
            guard let work = work.take() else { return }
            result = Result { try work() }
        }

        /// The result, removed from the job (whoever releases the job last holds nothing of it).
        func take() throws -> T {
            guard let result = result.take() else { throw RadosError(.failed, "a blocking librados call ended without a result") }
            return try result.get()
        }
    }
}

extension RadosCluster {
    /// Connects (`init`, which blocks in librados) and opens `pool` without
    /// blocking the cooperative pool.
    public static func connect(_ configuration: RadosConfiguration, pool: String, namespace: String = "") async throws -> RadosPool {
        try await RadosBlocking.run { try RadosCluster(configuration).openPool(pool, namespace: namespace) }
    }
}
