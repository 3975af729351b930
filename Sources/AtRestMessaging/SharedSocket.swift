internal import CZeroMQ
import Logging
import Synchronization

/// A socket that handler tasks send on directly while a poll loop receives
/// from it.
///
/// Why: a reply handed back to the loop thread to be sent costs a thread
/// wake-up on the critical path of every call and a context switch of CPU
/// (measured: about 15% of the CPU of a 64-byte call through the broker).
/// libzmq lets a socket move between threads when a full memory barrier
/// separates the uses; the lock here is that barrier, so no two threads use
/// the socket at once. The loop polls the socket's ZMQ_FD, a plain
/// descriptor that is safe to poll while another thread holds the socket.
/// That descriptor only signals new activity: any use of the socket may
/// consume a signal for a message that then sits unseen, so after a send
/// this checks whether a message is waiting and, if so, calls `onPending`
/// (which makes the loop read the socket).
///
/// The socket can be replaced (a worker reconnecting); senders always use
/// the current one.
final class SharedSocket: Sendable {
    private let current: SleepingLock<ZMQSocket?>
    /// Asks the loop to read the socket although its descriptor may not
    /// signal (any thread).
    private let onPending: @Sendable () -> Void

    init(_ socket: ZMQSocket, onPending: @escaping @Sendable () -> Void) {
        current = SleepingLock(socket)
        self.onPending = onPending
    }

    /// The descriptor the loop polls for the current socket.
    var fileDescriptor: Int32 { current.withLock { $0?.fileDescriptor ?? -1 } }

    /// Sends one message (any thread). Throws `.closed`-like errors as the
    /// socket does; a closed holder throws ETERM's status.
    func send(_ frames: [Frame]) throws(MessagingError) {
        let pending = try current.withLock { socket throws(MessagingError) -> Bool in
            guard let socket else { throw MessagingError(errno: atrest_zmq_eterm, operation: "send") }
            try socket.send(frames)
            return socket.isReadable
        }
        if pending { onPending() }
    }

    /// Receives every waiting message, up to `limit` (loop thread), and
    /// hands each to `body` outside the lock. Returns whether more are
    /// waiting (the loop must come back without a new signal).
    func drain(limit: Int = 256, logger: Logger, _ body: ([Frame]) -> Void) -> Bool {
        var received: [[Frame]] = []
        let more = current.withLock { socket -> Bool in
            guard let socket else { return false }
            socket.drain(limit: limit, logger: logger) { received.append($0) }
            return socket.isReadable
        }
        for message in received { body(message) }
        return more
    }

    /// Swaps in a new socket, closing the old one (loop thread).
    func replace(with socket: ZMQSocket) {
        current.withLock { old in
            old?.close()
            old = socket
        }
    }

    /// Lets the last messages leave when the socket closes (see `ZMQSocket`).
    func flushOnClose(milliseconds: Int32) {
        current.withLock { $0?.flushOnClose(milliseconds: milliseconds) }
    }

    /// Closes the socket; later sends fail.
    func close() {
        current.withLock { socket in
            socket?.close()
            socket = nil
        }
    }
}
