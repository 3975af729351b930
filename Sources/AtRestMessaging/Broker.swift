internal import CZeroMQ
import AtRestWire
import Logging

/// Where the broker sends a method: answered by its own local service (the
/// front door's control plane) or queued for workers.
public enum BrokerRoute: Sendable {
    case local
    case workers
}

/// Configuration of a `Broker`.
/// What `BrokerConfiguration.callEvents` is told, by the client's call id.
public enum BrokerCallEvent: Sendable {
    /// The call left the queue for a worker.
    case dispatched(callID: [UInt8])
    /// Its reply (or the broker's own answer) went to the client.
    case answered(callID: [UInt8])
}

public struct BrokerConfiguration: Sendable {
    public var limits: MessagingLimits
    /// Used when a request's timeout_ms is 0.
    public var defaultTimeout: Duration
    /// A request's timeout_ms above this is cut to it: no call lives longer.
    public var maxTimeout: Duration = ClientLimits().maxCallTime
    /// Broker ↔ worker heartbeat period; a peer silent for `liveness`
    /// periods is dead (any traffic counts).
    public var heartbeatInterval: Duration
    public var liveness: Int
    /// Calls waiting for a worker beyond this are refused (RESOURCE_EXHAUSTED).
    public var maxQueue: Int
    /// Calls one client (ROUTER peer) may have waiting or running on workers
    /// at once; more are refused at once (RESOURCE_EXHAUSTED, retry_after_ms).
    public var maxCallsPerClient: Int = ClientLimits().maxCalls
    /// Bytes one client's waiting calls may hold (its first call always fits).
    public var maxQueuedBytesPerClient: Int = ClientLimits().maxQueuedBytes
    /// Reply bytes buffered for one client that does not read: the client
    /// ROUTER's ZMQ_SNDHWM is this divided by `limits.maxMessageBytes` (at
    /// least 1 message), and replies refused at that mark wait in the
    /// broker up to a quarter of this (at least one message) more
    /// (docs/OPERATIONS.md "Limits").
    public var clientSendBufferBytes: Int = ClientLimits().sendBufferBytes
    /// Replies waiting for a client that takes none of them for this long are dropped.
    public var slowClientTimeout: Duration = ClientLimits().slowClientTimeout
    /// Whether a method may run twice: decides if a dead worker's call is
    /// re-queued or failed with UNAVAILABLE. Calls with an idempotency key
    /// are always re-queued.
    public var isIdempotent: @Sendable (String) -> Bool
    /// Answers methods routed `.local` (nil: everything goes to workers).
    public var localService: (any RPCService)?
    public var route: @Sendable (String) -> BrokerRoute
    /// Runs on the broker's loop for every call routed `.workers`, before it
    /// is queued: may rewrite the header (the front door authenticates, drops
    /// a client's `accountContext` and sets the one it authorized) or refuse
    /// the call with a status. Must be quick and must not block.
    public var admit: (@Sendable (inout RPCHeader) -> RPCStatus?)?
    /// Runs on the broker's loop when an admitted call goes to a worker and
    /// when its answer goes back (the front door's trace spans); the call is
    /// named by the client's call id. Must be quick and must not block.
    public var callEvents: (@Sendable (BrokerCallEvent) -> Void)?
    /// Runs on the broker's loop for every worker reply forwarded to its
    /// client, right after it was sent (the client does not wait for it): the
    /// method, the reply's code, nanoseconds since the broker received the
    /// call until the reply was ready (queueing included), request and reply
    /// bytes (body and payload). Must be quick and must not block (the front
    /// door's metrics).
    public var onWorkerReply: (@Sendable (_ method: String, _ code: StatusCode, _ nanoseconds: UInt64, _ requestBytes: Int, _ replyBytes: Int) -> Void)?
    /// CURVE for the client-facing and the worker-facing socket.
    public var clientCurve: CurveServerConfiguration?
    public var workerCurve: CurveServerConfiguration?
    public var logger: Logger

    public init(
        limits: MessagingLimits = .default, defaultTimeout: Duration = .seconds(30),
        heartbeatInterval: Duration = .seconds(1), liveness: Int = 3, maxQueue: Int = 10_000,
        isIdempotent: @escaping @Sendable (String) -> Bool = { _ in false }, localService: (any RPCService)? = nil,
        route: @escaping @Sendable (String) -> BrokerRoute = { _ in .workers },
        admit: (@Sendable (inout RPCHeader) -> RPCStatus?)? = nil,
        clientCurve: CurveServerConfiguration? = nil, workerCurve: CurveServerConfiguration? = nil,
        logger: Logger = Logger(label: "atrest.broker")
    ) {
        self.limits = limits
        self.defaultTimeout = defaultTimeout
        self.heartbeatInterval = heartbeatInterval
        self.liveness = liveness
        self.maxQueue = maxQueue
        self.isIdempotent = isIdempotent
        self.localService = localService
        self.route = route
        self.admit = admit
        self.clientCurve = clientCurve
        self.workerCurve = workerCurve
        self.logger = logger
    }
}

extension BrokerConfiguration {
    /// This configuration with `callEvents` set (nil: none).
    public func observing(_ callEvents: (@Sendable (BrokerCallEvent) -> Void)?) -> BrokerConfiguration {
        var copy = self
        copy.callEvents = callEvents
        return copy
    }

    /// ZMQ_SNDHWM of the client ROUTER (libzmq counts messages, not bytes).
    var clientSendHighWaterMark: Int { max(1, clientSendBufferBytes / limits.maxMessageBytes) }
    /// Bytes of refused replies the broker keeps per client for a retry.
    var clientBacklogBytes: Int { max(limits.maxMessageBytes, clientSendBufferBytes / 4) }
}

/// What the broker holds right now (for tests and operators).
public struct BrokerStats: Sendable, Equatable {
    public var workers: Int
    /// Free credit summed over workers.
    public var freeCredit: Int
    public var queued: Int
    public var dispatched: Int
    /// Each connected worker: name, announced credit, calls in flight.
    public var workerDetails: [BrokerWorkerStats] = []
    /// Replies sent to clients by the broker itself or forwarded from
    /// workers, by status code (local calls are counted by the local service).
    public var replies: [StatusCode: UInt64] = [:]
    /// Clients with calls waiting or running; replies dropped because their
    /// client did not read them (ReplyBacklog).
    public var clients: Int = 0
    public var droppedReplies: UInt64 = 0
}

/// One worker as the broker sees it.
public struct BrokerWorkerStats: Sendable, Equatable {
    public var name: String
    public var capacity: Int
    public var inFlight: Int
}

/// A Majordomo-style work-queue broker: clients call it like any server,
/// workers connect to it, announce READY with credit and pull work.
///
/// Dispatch goes to the least recently used worker with free credit, never
/// to one without. Heartbeats flow both ways; a worker silent for
/// `liveness` intervals is dead and its calls are re-queued (idempotent or
/// carrying an idempotency key) or failed with UNAVAILABLE. Queued calls
/// fail at their deadline, so a client never waits past it. Methods routed
/// `.local` are answered by `localService` on the broker itself.
public final class Broker: Sendable {
    public let clientEndpoint: String
    public let workerEndpoint: String
    private let loop: PollLoop
    private let core: UncheckedBox<BrokerCore>

    public init(
        clientEndpoint: String, workerEndpoint: String, context: ZMQContext = .shared,
        configuration: BrokerConfiguration = BrokerConfiguration()
    ) throws {
        let clients = try ZMQSocket(.router, context: context, limits: configuration.limits)
        try clients.setOption(ZMQ_SNDHWM, Int32(configuration.clientSendHighWaterMark))
        if let curve = configuration.clientCurve { try curve.apply(to: clients, context: context) }
        let workers = try ZMQSocket(.router, context: context, limits: configuration.limits)
        if let curve = configuration.workerCurve { try curve.apply(to: workers, context: context) }
        self.clientEndpoint = try clients.bind(clientEndpoint)
        self.workerEndpoint = try workers.bind(workerEndpoint)
        loop = try PollLoop(name: "broker")
        let core = BrokerCore(clients: clients, workers: workers, loop: loop, configuration: configuration)
        self.core = UncheckedBox(core)
        loop.sockets = [clients, workers]
        loop.onReadable = { index in index == 0 ? core.clientsReadable() : core.workersReadable() }
        loop.onTick = { now in core.tick(now: now) }
        loop.onStop = { core.shutdown(); clients.close(); workers.close() }
        loop.start()
        configuration.logger.info("broker listening", metadata: [
            "clients": "\(self.clientEndpoint)", "workers": "\(self.workerEndpoint)",
        ])
    }

    public func stats() async -> BrokerStats {
        let core = self.core
        return await withCheckedContinuation { continuation in
            loop.submit { continuation.resume(returning: core.value.stats) }
        }
    }

    public func close() { loop.stop() }

    deinit { loop.stop() }
}
