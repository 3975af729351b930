import Dispatch

/// Runs file I/O (reads, writes, fsync) on a dispatch queue instead of the
/// cooperative pool: with two cores the pool has two threads, and an fsync
/// holding one of them would stall every other call on the worker. Every
/// `LocalBackend` call runs on this one queue (the store above it is async).
public enum BlockingIO {
    private static let queue = DispatchQueue(label: "atrest.worker.io", attributes: .concurrent)

    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let job = Job(body)
        return try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: job.run()) }
        }
    }

    /// Runs `body` on the queue without waiting for it (a job that resumes
    /// its callers itself, such as a group commit's leader).
    public static func start(_ body: @escaping @Sendable () -> Void) {
        queue.async(execute: body)
    }

    /// Holds the body only until it has run: the dispatch block outlives the
    /// caller's resumption by a moment, and a body still referenced then keeps
    /// what it captured alive (a closed store's writer lock stayed held, and a
    /// store reopened at once took its files for a live writer's).
    private final class Job<T>: @unchecked Sendable {
        private var body: (@Sendable () throws -> T)?

        init(_ body: @escaping @Sendable () throws -> T) { self.body = body }

        /// Called once, on the queue.
        func run() -> Result<T, any Error> {
            let body = self.body.take()
            return Result { try body!() }
        }
    }
}
