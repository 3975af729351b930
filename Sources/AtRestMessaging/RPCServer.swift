import AtRestWire
import Logging

/// Configuration of an `RPCServer`; plain values with defaults.
public struct RPCServerConfiguration: Sendable {
    public var limits: MessagingLimits
    /// Used when a request's timeout_ms is 0.
    public var defaultTimeout: Duration
    /// More concurrent calls than this are refused with RESOURCE_EXHAUSTED.
    public var maxInFlight: Int
    /// CURVE server keys and allowed clients; nil: plain TCP.
    public var curve: CurveServerConfiguration?
    public var logger: Logger
    /// Start each handler on the poll loop thread (`Task.immediate`) instead
    /// of the cooperative pool; it runs there until its first suspension.
    /// Saves two thread hand-offs per call and keeps quick handlers
    /// independent of a busy pool. Only for handlers that do little work
    /// before their first `await`: one that computes for long holds up the
    /// loop's other traffic (and, on a worker, its heartbeats).
    public var runsHandlersInline: Bool = false

    public init(
        limits: MessagingLimits = .default, defaultTimeout: Duration = .seconds(30), maxInFlight: Int = 4096,
        curve: CurveServerConfiguration? = nil, logger: Logger = Logger(label: "atrest.rpc.server")
    ) {
        self.limits = limits
        self.defaultTimeout = defaultTimeout
        self.maxInFlight = maxInFlight
        self.curve = curve
        self.logger = logger
    }
}

/// Serves an `RPCService` on a ROUTER socket.
///
/// Requests run concurrently as tasks; replies go out with DONTWAIT on a
/// ROUTER_MANDATORY socket (a vanished client is logged, never waited for).
/// Bad input is answered INVALID_ARGUMENT when it carries a usable address,
/// otherwise dropped and logged; nothing a peer sends stops the loop.
public final class RPCServer: Sendable {
    /// The real bound endpoint (an ephemeral port is resolved).
    public let endpoint: String
    private let loop: PollLoop

    public init(
        service: any RPCService, endpoint: String, context: ZMQContext = .shared,
        configuration: RPCServerConfiguration = RPCServerConfiguration()
    ) throws {
        let socket = try ZMQSocket(.router, context: context, limits: configuration.limits)
        if let curve = configuration.curve { try curve.apply(to: socket, context: context) }
        self.endpoint = try socket.bind(endpoint)
        let loop = try PollLoop(name: "rpc-server")
        self.loop = loop
        // Handlers send their replies themselves (SharedSocket); the loop
        // polls the socket's descriptor and receives.
        let shared = SharedSocket(socket) { [weak loop] in loop?.submit { [weak loop] in loop?.recheck() } }
        let core = ServerCore(socket: shared, service: service, configuration: configuration)
        loop.descriptors = [shared.fileDescriptor]
        loop.onReadable = { [weak loop] _ in
            if core.readable() { loop?.submit { [weak loop] in loop?.recheck() } }
        }
        loop.onTick = { now in core.runner.expire(now: now) }
        loop.onStop = { core.runner.cancelAll(); shared.close() }
        loop.start()
        configuration.logger.info("rpc server listening", metadata: ["endpoint": "\(self.endpoint)"])
    }

    /// Stops serving: in-flight calls are cancelled and the socket closed.
    public func close() { loop.stop() }

    deinit { loop.stop() }
}

/// The server's state: receiving happens on the loop thread, replies are
/// sent by whichever thread finishes a call.
private final class ServerCore: Sendable {
    let socket: SharedSocket
    let configuration: RPCServerConfiguration
    let runner: CallRunner
    private let logger: Logger

    init(socket: SharedSocket, service: any RPCService, configuration: RPCServerConfiguration) {
        self.socket = socket
        self.configuration = configuration
        logger = configuration.logger
        let logger = self.logger
        runner = CallRunner(service: service, logger: logger, startsInline: configuration.runsHandlersInline) {
            frames in ServerCore.reply(frames, on: socket, logger: logger)
        }
    }

    /// Handles what arrived; true when more is waiting (see `SharedSocket`).
    func readable() -> Bool {
        socket.drain(logger: logger) { handle($0) }
    }

    private func handle(_ received: [Frame]) {
        let envelope: Envelope
        do {
            envelope = try Envelope.parse(received, routed: true, limits: configuration.limits)
        } catch {
            // Without a valid envelope there is no call id to answer: drop.
            logger.debug("dropped malformed message", metadata: ["reason": "\(error.reason)"])
            return
        }
        guard envelope.command == .request else {
            logger.debug("ignored command", metadata: ["command": "\(envelope.command)"])
            return
        }
        let request: IncomingRequest
        do {
            request = try IncomingRequest.parse(envelope, limits: configuration.limits)
        } catch {
            logger.debug("rejected request", metadata: ["reason": "\(error.reason)"])
            reply(Envelope.reply(route: envelope.route, header: ReplyHeader(
                callID: error.callID, status: RPCStatus(.invalidArgument, error.reason))))
            return
        }
        guard runner.inFlight < configuration.maxInFlight else {
            reply(Envelope.reply(route: request.route, header: ReplyHeader(
                callID: request.header.callID,
                status: RPCStatus(.resourceExhausted, "server is at its limit of concurrent calls", retryAfterMs: 100))))
            return
        }
        let now = monotonicNanos()
        let timeout = request.header.timeoutMs > 0
            ? UInt64(request.header.timeoutMs) * 1_000_000 : configuration.defaultTimeout.nanoseconds
        runner.start(request, deadline: now + timeout, now: now)
    }

    private func reply(_ frames: [Frame]) {
        ServerCore.reply(frames, on: socket, logger: logger)
    }

    private static func reply(_ frames: [Frame], on socket: SharedSocket, logger: Logger) {
        do {
            try socket.send(frames)
        } catch {
            // The client went away or stopped reading; it has its own deadline.
            logger.debug("reply not delivered", metadata: ["error": "\(error)"])
        }
    }
}
