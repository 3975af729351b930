internal import CZeroMQ
import Synchronization

/// A ZeroMQ context: the I/O threads and the inproc namespace.
///
/// Sockets keep the underlying context alive, so it is terminated only once
/// every socket is closed (with LINGER 0 that never blocks). The ZAP
/// authenticator for CURVE endpoints is per context and started on first use.
public final class ZMQContext: Sendable {
    /// The process-wide context; services normally use this one.
    public static let shared = ZMQContext()

    let handle: ContextHandle
    private let zap = Mutex<ZAPAuthenticator?>(nil)

    public init(ioThreads: Int32 = 1) {
        handle = ContextHandle(ioThreads: ioThreads)
    }

    /// The context's ZAP handler at inproc://zeromq.zap.01, started once.
    func authenticator() throws -> ZAPAuthenticator {
        try zap.withLock { current in
            if let current { return current }
            let started = try ZAPAuthenticator(context: self)
            current = started
            return started
        }
    }

    /// Terminates the context now: blocks until every socket of it is closed
    /// and their LINGER has flushed pending messages (or expired). For a
    /// context a component owns, so its last messages (a worker's reply and
    /// DISCONNECT) are on the wire before the process exits. Idempotent.
    func terminate() {
        zap.withLock { $0?.stop() }
        handle.terminate()
    }

    deinit {
        zap.withLock { $0?.stop() }
    }
}

/// Owns the raw context pointer; terminated when the last socket lets go.
final class ContextHandle: @unchecked Sendable {
    // Set once in init; libzmq contexts are thread-safe.
    let raw: UnsafeMutableRawPointer

    init(ioThreads: Int32) {
        raw = zmq_ctx_new()!
        zmq_ctx_set(raw, ZMQ_IO_THREADS, ioThreads)
        // Limits come from our own checks, not libzmq's default 1023 sockets.
        zmq_ctx_set(raw, ZMQ_MAX_SOCKETS, 4096)
    }

    private let terminated = Atomic<Bool>(false)

    func terminate() {
        guard !terminated.exchange(true, ordering: .acquiringAndReleasing) else { return }
        _ = try? zmqCall("zmq_ctx_term") { zmq_ctx_term(raw) }
    }

    deinit { terminate() }
}
