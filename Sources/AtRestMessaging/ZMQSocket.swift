internal import CZeroMQ
import Glibc
import Logging

/// A ZeroMQ socket with AtRest's defaults, closed on deinit.
///
/// Every socket gets LINGER 0 (closing never blocks on unsent messages),
/// ZMQ_MAXMSGSIZE from the published limits, and ZMTP heartbeats (2 s
/// interval, 6 s timeout) so dead TCP peers are noticed. ROUTERs get
/// ROUTER_MANDATORY so a reply to a vanished peer fails (EHOSTUNREACH)
/// instead of vanishing. A socket is used by one thread at a time: it is
/// created, configured, then handed to the poll loop thread that owns it.
public final class ZMQSocket: @unchecked Sendable {
    public enum Kind: Sendable {
        case dealer, router, pair, rep, req
        /// Key events: the publisher is an XPUB (it sees subscriptions, so it
        /// can greet a new subscriber at once), subscribers are plain SUBs.
        case xpub, sub

        var raw: Int32 {
            switch self {
            case .dealer: ZMQ_DEALER
            case .router: ZMQ_ROUTER
            case .pair: ZMQ_PAIR
            case .rep: ZMQ_REP
            case .req: ZMQ_REQ
            case .xpub: ZMQ_XPUB
            case .sub: ZMQ_SUB
            }
        }
    }

    let raw: UnsafeMutableRawPointer
    public let kind: Kind
    public let limits: MessagingLimits
    private let context: ContextHandle
    private var closed = false

    public init(_ kind: Kind, context: ZMQContext = .shared, limits: MessagingLimits = .default) throws {
        guard let socket = zmq_socket(context.handle.raw, kind.raw) else {
            throw MessagingError(errno: zmq_errno(), operation: "zmq_socket")
        }
        raw = socket
        self.kind = kind
        self.limits = limits
        self.context = context.handle
        try setOption(ZMQ_LINGER, 0)
        try setOption64(ZMQ_MAXMSGSIZE, Int64(limits.maxMessageBytes))
        try setOption(ZMQ_HEARTBEAT_IVL, 2000)
        try setOption(ZMQ_HEARTBEAT_TIMEOUT, 6000)
        try setOption(ZMQ_HEARTBEAT_TTL, 6000)
        if kind == .router { try setOption(ZMQ_ROUTER_MANDATORY, 1) }
    }

    // MARK: options

    func setOption(_ option: Int32, _ value: Int32) throws {
        var v = value
        try zmqCall("zmq_setsockopt(\(option))") { zmq_setsockopt(raw, option, &v, MemoryLayout<Int32>.size) }
    }

    func setOption64(_ option: Int32, _ value: Int64) throws {
        var v = value
        try zmqCall("zmq_setsockopt(\(option))") { zmq_setsockopt(raw, option, &v, MemoryLayout<Int64>.size) }
    }

    func setOption(_ option: Int32, bytes: UnsafeRawBufferPointer) throws {
        try zmqCall("zmq_setsockopt(\(option))") { zmq_setsockopt(raw, option, bytes.baseAddress, bytes.count) }
    }

    func setOption(_ option: Int32, string: String) throws {
        let utf8 = Array(string.utf8)
        try utf8.withUnsafeBytes { try setOption(option, bytes: $0) }
    }

    /// Sets this socket's routing id (what a ROUTER peer sees).
    public func setRoutingID(_ id: [UInt8]) throws {
        try id.withUnsafeBytes { try setOption(ZMQ_ROUTING_ID, bytes: $0) }
    }

    // MARK: endpoints

    /// Binds and returns the real endpoint (`tcp://127.0.0.1:*` becomes the
    /// chosen port, read back from ZMQ_LAST_ENDPOINT).
    @discardableResult
    public func bind(_ endpoint: String) throws -> String {
        try zmqCall("bind \(endpoint)") { zmq_bind(raw, endpoint) }
        return lastEndpoint ?? endpoint
    }

    public func connect(_ endpoint: String) throws {
        try zmqCall("connect \(endpoint)") { zmq_connect(raw, endpoint) }
    }

    /// The endpoint last bound (ZMQ_LAST_ENDPOINT).
    public var lastEndpoint: String? {
        var buffer = [CChar](repeating: 0, count: 512)
        var size = buffer.count
        guard zmq_getsockopt(raw, ZMQ_LAST_ENDPOINT, &buffer, &size) == 0 else { return nil }
        return Curve.text(buffer)
    }

    // MARK: send / receive

    /// Sends `frames` as one multipart message without blocking. Throws
    /// `.wouldBlock` (EAGAIN) or `.peerUnreachable` (EHOSTUNREACH) when the
    /// first frame cannot go; libzmq queues multipart messages atomically, so
    /// later frames do not fail for those reasons.
    public func send(_ frames: [Frame]) throws(MessagingError) {
        let last = frames.count - 1
        for (index, frame) in frames.enumerated() {
            let flags = ZMQ_DONTWAIT | (index < last ? ZMQ_SNDMORE : 0)
            try zmqCall("send") { zmq_msg_send(frame.message, raw, flags) }
        }
    }

    /// Receives one whole multipart message, or nil when none is waiting.
    public func receive() throws(MessagingError) -> [Frame]? {
        var frames: [Frame] = []
        while true {
            let frame = Frame()
            let rc = zmq_msg_recv(frame.message, raw, ZMQ_DONTWAIT)
            if rc < 0 {
                let error = zmq_errno()
                if error == EINTR { continue }
                if error == EAGAIN, frames.isEmpty { return nil }
                throw MessagingError(errno: error, operation: "receive")
            }
            let more = zmq_msg_more(frame.message) != 0
            frames.append(frame)
            if !more { return frames }
        }
    }

    /// Hands every waiting message to `body`, up to `limit` (so one busy
    /// socket cannot starve the others in a loop); a receive failure is
    /// logged and ends the round.
    func drain(limit: Int = 256, logger: Logger, _ body: ([Frame]) -> Void) {
        for _ in 0..<limit {
            do {
                guard let received = try receive() else { return }
                body(received)
            } catch {
                logger.warning("receive failed", metadata: ["error": "\(error)"])
                return
            }
        }
    }

    /// Blocks up to `timeoutMs` for a message (tests and simple tools only;
    /// services receive from a poll loop).
    public func receive(timeoutMs: Int) throws -> [Frame]? {
        var item = zmq_pollitem_t(socket: raw, fd: -1, events: Int16(ZMQ_POLLIN), revents: 0)
        try zmqCall("poll") { zmq_poll(&item, 1, timeoutMs) }
        return try receive()
    }

    /// The socket's ZMQ_FD: readable when the socket may have become
    /// readable (edge-like: after using the socket, check `isReadable`
    /// before waiting on it again).
    var fileDescriptor: Int32 {
        var fd: Int32 = -1
        var size = MemoryLayout<Int32>.size
        zmq_getsockopt(raw, ZMQ_FD, &fd, &size)
        return fd
    }

    /// Whether a message can be read now (ZMQ_EVENTS).
    var isReadable: Bool {
        var events: Int32 = 0
        var size = MemoryLayout<Int32>.size
        zmq_getsockopt(raw, ZMQ_EVENTS, &events, &size)
        return events & Int32(ZMQ_POLLIN) != 0
    }

    /// Lets the last messages (a goodbye) leave when the socket closes,
    /// instead of LINGER 0 discarding them.
    func flushOnClose(milliseconds: Int32) {
        try? setOption(ZMQ_LINGER, milliseconds)
    }

    public func close() {
        guard !closed else { return }
        closed = true
        zmq_close(raw)
    }

    deinit { close() }
}
