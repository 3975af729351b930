internal import CZeroMQ
import AtRestWire
import Glibc

/// An error of the messaging layer: a libzmq failure (with its errno) or a
/// protocol violation, with the gRPC status a caller should see.
public struct MessagingError: Error, Sendable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        /// The socket cannot take the message now (EAGAIN: high-water mark, no peer).
        public static let wouldBlock = Code(rawValue: "wouldBlock")
        /// The addressed peer is not connected (EHOSTUNREACH on a ROUTER).
        public static let peerUnreachable = Code(rawValue: "peerUnreachable")
        /// The context is shutting down (ETERM).
        public static let terminated = Code(rawValue: "terminated")
        /// An endpoint could not be bound or connected (bad syntax, in use, ...).
        public static let badEndpoint = Code(rawValue: "badEndpoint")
        /// A message is larger than the published limit.
        public static let tooLarge = Code(rawValue: "tooLarge")
        /// Frames that do not follow docs/PROTOCOL.md.
        public static let protocolViolation = Code(rawValue: "protocolViolation")
        /// Bad key material or configuration.
        public static let invalidConfiguration = Code(rawValue: "invalidConfiguration")
        /// Any other libzmq or system failure.
        public static let system = Code(rawValue: "system")
    }

    public var code: Code
    /// The errno reported by libzmq, 0 for non-system errors.
    public var errno: Int32
    public var message: String

    public init(_ code: Code, _ message: String, errno: Int32 = 0) {
        self.code = code
        self.message = message
        self.errno = errno
    }

    /// Maps a libzmq errno from `operation` to a typed error.
    init(errno value: Int32, operation: String) {
        let text = String(cString: zmq_strerror(value))
        let code: Code
        switch value {
        case EAGAIN: code = .wouldBlock
        case EHOSTUNREACH: code = .peerUnreachable
        case atrest_zmq_eterm: code = .terminated
        case EMSGSIZE: code = .tooLarge
        case EINVAL, EPROTONOSUPPORT, atrest_zmq_enocompatproto, EADDRINUSE, EADDRNOTAVAIL, ENODEV:
            code = .badEndpoint
        default: code = .system
        }
        self.init(code, "\(operation): \(text)", errno: value)
    }

    /// The status a caller sees for this failure (EAGAIN → RESOURCE_EXHAUSTED,
    /// EHOSTUNREACH/ETERM → UNAVAILABLE, ...).
    public var status: RPCStatus {
        switch code {
        case .wouldBlock:
            // No connected peer took the message: not connected yet (also a security
            // handshake that never completes), or its queue is full.
            RPCStatus(.resourceExhausted, "no connected peer took the message (not connected, or its queue is full); retry later",
                      retryAfterMs: 50, details: ["reason": "notSent"])
        case .peerUnreachable, .terminated: RPCStatus(.unavailable, "peer unavailable: \(message)")
        case .tooLarge: RPCStatus(.invalidArgument, message)
        case .badEndpoint, .invalidConfiguration: RPCStatus(.invalidArgument, message)
        case .protocolViolation: RPCStatus(.invalidArgument, message)
        default: RPCStatus(.internal, "messaging failure")
        }
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

/// The one place libzmq calls go through: retries EINTR and turns a
/// failure's errno into a `MessagingError`.
@discardableResult
func zmqCall(_ operation: @autoclosure () -> String, _ body: () -> Int32) throws(MessagingError) -> Int32 {
    while true {
        let rc = body()
        if rc >= 0 { return rc }
        let error = zmq_errno()
        if error == EINTR { continue }
        throw MessagingError(errno: error, operation: operation())
    }
}
