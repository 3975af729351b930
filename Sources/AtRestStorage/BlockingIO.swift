import Dispatch

/// Runs file I/O (reads, writes, fsync) on a dispatch queue instead of the
/// cooperative pool: with two cores the pool has two threads, and an fsync
/// holding one of them would stall every other call on the worker. Every
/// `LocalBackend` call runs on this one queue (the store above it is async).
public enum BlockingIO {
    private static let queue = DispatchQueue(label: "atrest.worker.io", attributes: .concurrent)

    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }
}
