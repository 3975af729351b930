import AtRestWire
import Logging

/// The loop-confined state of an `RPCClient`: pending calls by call id and
/// their deadlines.
final class ClientCore {
    private struct Pending {
        var continuation: CheckedContinuation<RawReply, any Error>
        var method: String
        var deadline: UInt64
        var socket: Int
    }

    private let sockets: [ZMQSocket]
    private let logger: Logger
    private var pending: [CallKey: Pending] = [:]
    private var nextDeadline: UInt64 = .max
    /// The replica that last took a request (Freelance: stick to it).
    private var preferred = 0
    /// Why a socket's server refused its last handshake (cleared by a good one).
    private var refused: [RPCStatus?]

    init(sockets: [ZMQSocket], logger: Logger) {
        self.sockets = sockets
        self.logger = logger
        refused = Array(repeating: nil, count: sockets.count)
    }

    func send(
        _ key: CallKey, _ frames: [Frame], method: String, deadline: UInt64,
        _ continuation: CheckedContinuation<RawReply, any Error>
    ) {
        var lastError: MessagingError?
        var lastRefusal: RPCStatus?
        for offset in 0..<sockets.count {
            let index = (preferred + offset) % sockets.count
            if let status = refused[index] {
                lastRefusal = status
                continue
            }
            do {
                try sockets[index].send(frames)
                preferred = index
                pending[key] = Pending(continuation: continuation, method: method, deadline: deadline, socket: index)
                nextDeadline = min(nextDeadline, deadline)
                return
            } catch {
                lastError = error
            }
        }
        var status = lastError?.status ?? lastRefusal ?? RPCStatus(.unavailable, "no connection")
        if sockets.count > 1, lastError?.code == .wouldBlock {
            // With ZMQ_IMMEDIATE, EAGAIN means no replica is connected.
            status = RPCStatus(.unavailable, "no replica of the service is reachable")
        }
        continuation.resume(throwing: status)
    }

    /// Handshake outcomes of socket `index`: a refusal fails the calls
    /// waiting on it now (libzmq will not retry that connection) and later
    /// calls at once, until a handshake succeeds again.
    func handshake(_ index: Int, _ outcomes: [HandshakeMonitor.Outcome]) {
        for outcome in outcomes {
            switch outcome {
            case .succeeded:
                refused[index] = nil
            case .refused(let status):
                logger.warning("handshake refused", metadata: ["reason": "\(status.message)"])
                refused[index] = status
                for (key, call) in pending where call.socket == index {
                    pending[key] = nil
                    call.continuation.resume(throwing: status)
                }
            }
        }
    }

    func cancel(_ key: CallKey) {
        pending.removeValue(forKey: key)?.continuation.resume(throwing: CancellationError())
    }

    func readable(_ index: Int) {
        sockets[index].drain(logger: logger) { deliver($0) }
    }

    private func deliver(_ received: [Frame]) {
        guard let envelope = try? Envelope.parse(received, routed: false, limits: sockets[0].limits),
              envelope.command == .reply, let headerFrame = envelope.frames.first,
              let header = try? headerFrame.withUnsafeBytes({ try ReplyHeader(serialized: $0) }),
              let key = CallKey(header.callID)
        else {
            logger.debug("dropped a message that is not a reply")
            return
        }
        guard let call = pending.removeValue(forKey: key) else { return }  // late: already timed out
        let body = envelope.frames.count > 1 ? envelope.frames[1] : Frame.empty()
        let payload = envelope.frames.count > 2 ? Array(envelope.frames[2...]) : []
        call.continuation.resume(returning: RawReply(header: header, body: body, payload: payload))
    }

    /// Fails calls past their deadline; returns ms until the next one.
    func expire(now: UInt64) -> Int {
        if now >= nextDeadline {
            nextDeadline = .max
            for (key, call) in pending {
                if call.deadline <= now {
                    pending[key] = nil
                    call.continuation.resume(throwing: RPCStatus(
                        .deadlineExceeded, "\(call.method) did not answer within its deadline"))
                } else {
                    nextDeadline = min(nextDeadline, call.deadline)
                }
            }
        }
        return nextDeadline == .max ? -1 : Int((nextDeadline - now + 999_999) / 1_000_000)
    }

    func failAll() {
        for call in pending.values {
            call.continuation.resume(throwing: RPCStatus(.unavailable, "the client was closed"))
        }
        pending.removeAll()
    }
}
