import AtRestWire
import Logging
import Synchronization

/// The shared state of an `RPCClient`: its DEALER sockets, the pending calls
/// by call id and their deadlines, behind one lock.
///
/// Why a lock instead of confining the sockets to the loop thread: a call
/// then sends from the calling task itself, and the loop thread only
/// receives. Handing every request to the loop first cost a thread wake-up
/// per call (on the critical path of every round trip) and a context switch
/// of CPU. libzmq allows a socket to move between threads when a full memory
/// barrier separates the uses; the lock is that barrier, and no two threads
/// ever use a socket at once. The loop waits on each socket's ZMQ_FD (a
/// plain descriptor, safe to poll while another thread holds the socket)
/// instead of on the socket. That descriptor only signals new activity, so
/// whoever uses a socket checks afterwards whether a message is already
/// waiting and, if so, wakes the loop.
final class ClientCore: Sendable {
    private struct Pending {
        var continuation: CheckedContinuation<RawReply, any Error>
        var method: String
        var deadline: UInt64
        var socket: Int
        /// Set for a call that was never sent (`send` found no peer): the
        /// status it ends with unless its socket's refusal comes first.
        var unsent: RPCStatus? = nil
    }

    private struct State {
        var pending: [CallKey: Pending] = [:]
        var nextDeadline: UInt64 = .max
        /// When the loop will next look at deadlines by itself.
        var plannedTick: UInt64 = 0
        /// The replica that last took a request (Freelance: stick to it).
        var preferred = 0
        /// Why a socket's server refused its last handshake (cleared by a good one).
        var refused: [RPCStatus?]
        /// Calls parked unsent (some may have ended since): `settleUnsent`.
        var unsent: Set<CallKey> = []
        var closed = false
    }

    /// Longest the loop sleeps with calls pending: new calls with deadlines
    /// further out than this need not wake it.
    private static let idleTick: UInt64 = 1_000_000_000

    private let sockets: [ZMQSocket]
    private let logger: Logger
    private let state: SleepingLock<State>
    /// Wakes the poll loop (from a calling thread).
    private let wake: @Sendable () -> Void

    init(sockets: [ZMQSocket], logger: Logger, wake: @escaping @Sendable () -> Void) {
        self.sockets = sockets
        self.logger = logger
        self.wake = wake
        state = SleepingLock(State(refused: Array(repeating: nil, count: sockets.count)))
    }

    /// The descriptors the loop polls, one per socket.
    var descriptors: [Int32] { sockets.map(\.fileDescriptor) }

    /// Sends a request from the calling thread; the continuation is resumed
    /// by the loop with the reply, or here with the reason it could not go.
    func send(
        _ key: CallKey, _ frames: [Frame], method: String, deadline: UInt64,
        _ continuation: CheckedContinuation<RawReply, any Error>
    ) {
        let (failure, wakeLoop) = state.withLock { state -> (RPCStatus?, Bool) in
            guard !state.closed else { return (RPCStatus(.unavailable, "the client was closed"), false) }
            var lastError: MessagingError?
            var lastRefusal: RPCStatus?
            for offset in 0..<sockets.count {
                let index = (state.preferred + offset) % sockets.count
                if let status = state.refused[index] {
                    lastRefusal = status
                    continue
                }
                do throws(MessagingError) {
                    try sockets[index].send(frames)
                } catch {
                    lastError = error
                    continue
                }
                state.preferred = index
                state.pending[key] = Pending(
                    continuation: continuation, method: method, deadline: deadline, socket: index)
                state.nextDeadline = min(state.nextDeadline, deadline)
                // Sending may have taken in a reply the loop has not been told of.
                return (nil, sockets[index].isReadable || deadline < state.plannedTick)
            }
            var status = lastError?.status ?? lastRefusal ?? RPCStatus(.unavailable, "no connection")
            if sockets.count > 1, lastError?.code == .wouldBlock {
                // With ZMQ_IMMEDIATE, EAGAIN means no replica is connected.
                status = RPCStatus(.unavailable, "no replica of the service is reachable")
            } else if sockets.count == 1, lastError?.code == .wouldBlock {
                // No peer: the connection may have just been refused, its monitor event not yet read (libzmq
                // emits it before it drops the connection). The loop reads the monitor, then ends the call:
                // with the refusal if there was one, else with this status (`settleUnsent`).
                state.pending[key] = Pending(continuation: continuation, method: method, deadline: deadline, socket: 0, unsent: status)
                state.unsent.insert(key)
                return (nil, true)
            }
            return (status, false)
        }
        if let failure { continuation.resume(throwing: failure) }
        if wakeLoop { wake() }
    }

    /// Handshake outcomes of socket `index` (loop thread): a refusal fails
    /// the calls waiting on it now (libzmq will not retry that connection)
    /// and later calls at once, until a handshake succeeds again.
    func handshake(_ index: Int, _ outcomes: [HandshakeMonitor.Outcome]) {
        let failed = state.withLock { state -> [(Pending, RPCStatus)] in
            var failed: [(Pending, RPCStatus)] = []
            for outcome in outcomes {
                switch outcome {
                case .succeeded:
                    state.refused[index] = nil
                case .refused(let status):
                    logger.warning("handshake refused", metadata: ["reason": "\(status.message)"])
                    state.refused[index] = status
                    for (key, call) in state.pending where call.socket == index {
                        state.pending[key] = nil
                        failed.append((call, status))
                    }
                }
            }
            return failed
        }
        for (call, status) in failed { call.continuation.resume(throwing: status) }
    }

    /// Whether calls wait in `settleUnsent` (loop thread, before reading socket `index`).
    var hasUnsent: Bool { state.withLock { !$0.unsent.isEmpty } }

    /// Ends the calls parked unsent on socket `index` with the status
    /// `send` gave them (loop thread, once the socket's monitor was read:
    /// those whose connection was refused have already ended with the refusal).
    func settleUnsent(_ index: Int) {
        let ended = state.withLock { state -> [(Pending, RPCStatus)] in
            var ended: [(Pending, RPCStatus)] = []
            for key in state.unsent {
                guard let call = state.pending[key] else {
                    state.unsent.remove(key)
                    continue
                }
                guard call.socket == index, let status = call.unsent else { continue }
                state.pending[key] = nil
                state.unsent.remove(key)
                ended.append((call, status))
            }
            return ended
        }
        for (call, status) in ended { call.continuation.resume(throwing: status) }
    }

    /// Fails a call whose task was cancelled (any thread).
    func cancel(_ key: CallKey) {
        state.withLock { $0.pending.removeValue(forKey: key) }?.continuation.resume(throwing: CancellationError())
    }

    /// Receives what socket `index` has (loop thread) and resumes the callers
    /// outside the lock. Returns whether messages are still waiting (the
    /// round was capped), so the loop must come back without a new signal.
    func readable(_ index: Int) -> Bool {
        var replies: [(CheckedContinuation<RawReply, any Error>, RawReply)] = []
        let more = state.withLock { state -> Bool in
            guard !state.closed else { return false }
            let socket = sockets[index]
            socket.drain(logger: logger) { received in
                if let (key, reply) = parse(received), let call = state.pending.removeValue(forKey: key) {
                    replies.append((call.continuation, reply))
                }
            }
            return socket.isReadable
        }
        for (continuation, reply) in replies { continuation.resume(returning: reply) }
        return more
    }

    private func parse(_ received: [Frame]) -> (CallKey, RawReply)? {
        guard let envelope = try? Envelope.parse(received, routed: false, limits: sockets[0].limits),
              envelope.command == .reply, let headerFrame = envelope.frames.first,
              let header = try? headerFrame.withUnsafeBytes({ try ReplyHeader(serialized: $0) }),
              let key = CallKey(header.callID)
        else {
            logger.debug("dropped a message that is not a reply")
            return nil
        }
        let body = envelope.frames.count > 1 ? envelope.frames[1] : Frame.empty()
        let payload = envelope.frames.count > 2 ? Array(envelope.frames[2...]) : []
        return (key, RawReply(header: header, body: body, payload: payload))
    }

    /// Fails calls past their deadline (loop thread); returns ms until the
    /// loop should look again.
    func expire(now: UInt64) -> Int {
        var expired: [Pending] = []
        let wait = state.withLock { state -> Int in
            if now >= state.nextDeadline {
                state.nextDeadline = .max
                for (key, call) in state.pending {
                    if call.deadline <= now {
                        state.pending[key] = nil
                        expired.append(call)
                    } else {
                        state.nextDeadline = min(state.nextDeadline, call.deadline)
                    }
                }
            }
            let next = min(state.nextDeadline, now + ClientCore.idleTick)
            state.plannedTick = next
            return Int((next - now + 999_999) / 1_000_000)
        }
        for call in expired {
            call.continuation.resume(throwing: RPCStatus(
                .deadlineExceeded, "\(call.method) did not answer within its deadline"))
        }
        return wait
    }

    /// Closes the sockets (loop thread, at stop) and fails every call.
    func close() {
        let pending = state.withLock { state -> [Pending] in
            state.closed = true
            for socket in sockets { socket.close() }
            defer { state.pending.removeAll() }
            return Array(state.pending.values)
        }
        for call in pending {
            call.continuation.resume(throwing: RPCStatus(.unavailable, "the client was closed"))
        }
    }
}
