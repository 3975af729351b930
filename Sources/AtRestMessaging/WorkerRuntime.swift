import Dispatch
import AtRestWire
import Logging
import Synchronization

/// Configuration of a `WorkerRuntime`.
public struct WorkerConfiguration: Sendable {
    /// How many calls the worker runs at once (announced as credit).
    public var credit: Int
    public var heartbeatInterval: Duration
    public var liveness: Int
    /// Shown in the broker's logs; defaults to a random name.
    public var workerID: String
    public var limits: MessagingLimits
    /// Used when a request's timeout_ms is 0.
    public var defaultTimeout: Duration
    /// CURVE client keys and the broker's worker-side public key.
    public var curve: CurveClientConfiguration?
    public var logger: Logger
    /// Start each handler on the poll loop thread (`Task.immediate`) instead
    /// of the cooperative pool; it runs there until its first suspension.
    /// Saves two thread hand-offs per call and keeps quick handlers
    /// independent of a busy pool. Only for handlers that do little work
    /// before their first `await`: one that computes for long holds up the
    /// loop's other traffic (and, on a worker, its heartbeats).
    public var runsHandlersInline: Bool = false

    public init(
        credit: Int = 16, heartbeatInterval: Duration = .seconds(1), liveness: Int = 3,
        workerID: String = "worker-\(UInt32.random(in: .min ... .max))", limits: MessagingLimits = .default,
        defaultTimeout: Duration = .seconds(30), curve: CurveClientConfiguration? = nil,
        logger: Logger = Logger(label: "atrest.worker")
    ) {
        self.credit = credit
        self.heartbeatInterval = heartbeatInterval
        self.liveness = liveness
        self.workerID = workerID
        self.limits = limits
        self.defaultTimeout = defaultTimeout
        self.curve = curve
        self.logger = logger
    }
}

/// Runs an `RPCService` as a broker's worker.
///
/// Connects a DEALER to the broker's worker endpoint, announces READY with
/// its credit, runs up to that many calls concurrently, heartbeats, and
/// reconnects (with a fresh identity) when the broker falls silent or tells
/// it to. `drain()` stops taking work (credit 0), finishes the calls in
/// flight, then says DISCONNECT.
public final class WorkerRuntime: Sendable {
    private let loop: PollLoop
    private let core: UncheckedBox<WorkerCore>
    /// The context the worker made for itself (when none was given), so that
    /// `drain()` can wait for its last messages to leave before returning.
    private let ownedContext: ZMQContext?

    /// - Parameter context: nil (the default) gives the worker a context of
    ///   its own, which `drain()` terminates so the final reply and DISCONNECT
    ///   are flushed; with a shared context they may be lost if the process
    ///   exits right after `drain()`. An `inproc://` broker lives in a
    ///   context (inproc does not cross contexts), so for those nil means
    ///   `ZMQContext.shared`, where brokers are made by default.
    public init(
        brokerEndpoint: String, service: any RPCService, context: ZMQContext? = nil,
        configuration: WorkerConfiguration = WorkerConfiguration()
    ) throws {
        ownedContext = context == nil && !brokerEndpoint.hasPrefix("inproc://") ? ZMQContext() : nil
        let context = context ?? ownedContext ?? .shared
        loop = try PollLoop(name: "worker")
        let core = try WorkerCore(
            endpoint: brokerEndpoint, context: context, loop: loop, service: service, configuration: configuration)
        self.core = UncheckedBox(core)
        loop.onReadable = { [weak loop] _ in
            if core.readable() { loop?.submit { [weak loop] in loop?.recheck() } }
        }
        loop.onTick = { now in core.tick(now: now) }
        loop.onStop = { core.stopped() }
        loop.start()
    }

    /// Stops taking work, waits for the calls in flight, leaves the broker.
    public func drain() async {
        let core = self.core
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            loop.submit { core.value.drain(continuation) }
        }
        loop.stop()
        guard let ownedContext else { return }
        // zmq_ctx_term blocks until the socket's LINGER flushed its queue: off the pool.
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                ownedContext.terminate()
                done.resume()
            }
        }
    }

    /// Stops at once; calls in flight are abandoned (the broker re-queues or fails them).
    public func close() { loop.stop() }

    deinit { loop.stop() }
}

/// The worker's loop-confined state.
final class WorkerCore {
    private let endpoint: String
    private let context: ZMQContext
    private let loop: PollLoop
    private let configuration: WorkerConfiguration
    private let logger: Logger
    /// Receives on the loop thread; handler tasks send their replies on it
    /// themselves (see `SharedSocket`).
    private let socket: SharedSocket
    private var runner: CallRunner!
    private var lastSeen: UInt64
    private var nextHeartbeat: UInt64 = 0
    private var draining: CheckedContinuation<Void, Never>?
    /// Whether `draining` is set, for the threads that finish calls.
    private let isDraining = Atomic<Bool>(false)

    init(
        endpoint: String, context: ZMQContext, loop: PollLoop, service: any RPCService,
        configuration: WorkerConfiguration
    ) throws {
        self.endpoint = endpoint
        self.context = context
        self.loop = loop
        self.configuration = configuration
        logger = configuration.logger
        lastSeen = monotonicNanos()
        socket = SharedSocket(try WorkerCore.connect(endpoint, context: context, configuration: configuration)) {
            [weak loop] in loop?.submit { [weak loop] in loop?.recheck() }
        }
        let socket = self.socket, logger = self.logger
        let box = UncheckedWeakBox(self)
        runner = CallRunner(
            service: service, logger: logger, startsInline: configuration.runsHandlersInline,
            onFinished: { [weak loop] in
                // Only a draining worker cares when a call ends; that state is the loop's.
                if box.value?.isDraining.load(ordering: .acquiring) == true {
                    loop?.submit { box.value?.finishDrainIfIdle() }
                }
            },
            send: { frames in WorkerCore.send(frames, on: socket, logger: logger) })
        loop.descriptors = [socket.fileDescriptor]
        announce()
    }

    private static func connect(
        _ endpoint: String, context: ZMQContext, configuration: WorkerConfiguration
    ) throws -> ZMQSocket {
        let socket = try ZMQSocket(.dealer, context: context, limits: configuration.limits)
        if let curve = configuration.curve { try curve.apply(to: socket) }
        try socket.connect(endpoint)
        return socket
    }

    private func announce() {
        let ready = WorkerReady(workerID: configuration.workerID, credit: UInt32(configuration.credit))
        send(Envelope.build(.ready, [Frame(ready.serialized())]))
    }

    private func send(_ frames: [Frame]) {
        WorkerCore.send(frames, on: socket, logger: logger)
    }

    private static func send(_ frames: [Frame], on socket: SharedSocket, logger: Logger) {
        do {
            try socket.send(frames)
        } catch {
            logger.debug("message to broker not delivered", metadata: ["error": "\(error)"])
        }
    }

    /// Handles what arrived; true when more is waiting (see `SharedSocket`).
    func readable() -> Bool {
        socket.drain(logger: logger) { received in
            lastSeen = monotonicNanos()
            handle(received)
        }
    }

    private func handle(_ received: [Frame]) {
        guard let envelope = try? Envelope.parse(received, routed: false, limits: configuration.limits) else {
            logger.debug("dropped malformed message from broker")
            return
        }
        switch envelope.command {
        case .request:
            do {
                let request = try IncomingRequest.parse(envelope, limits: configuration.limits)
                let now = monotonicNanos()
                let timeout = request.header.timeoutMs > 0
                    ? UInt64(request.header.timeoutMs) * 1_000_000 : configuration.defaultTimeout.nanoseconds
                runner.start(request, deadline: now + timeout, now: now)
            } catch {
                send(Envelope.reply(route: [], header: ReplyHeader(
                    callID: error.callID, status: RPCStatus(.invalidArgument, error.reason))))
            }
        case .disconnect:
            reconnect(reason: "the broker asked to re-register")
        default:
            break  // heartbeats only refresh lastSeen
        }
    }

    private func reconnect(reason: String) {
        logger.notice("reconnecting to broker", metadata: ["reason": "\(reason)"])
        guard draining == nil else { return finishDrain() }
        do {
            socket.replace(with: try WorkerCore.connect(endpoint, context: context, configuration: configuration))
        } catch {
            socket.close()
            loop.descriptors = []
            logger.error("cannot reconnect", metadata: ["error": "\(error)"])
            return
        }
        loop.descriptors = [socket.fileDescriptor]
        lastSeen = monotonicNanos()
        announce()
    }

    func tick(now: UInt64) -> Int {
        let interval = configuration.heartbeatInterval.nanoseconds
        if now - lastSeen > interval * UInt64(configuration.liveness) {
            reconnect(reason: "broker silent for \(configuration.liveness) heartbeats")
        }
        if now >= nextHeartbeat {
            nextHeartbeat = now + interval
            let credit = draining == nil ? UInt32(configuration.credit) : 0
            send(Envelope.build(.heartbeat, [Frame(Heartbeat(credit: credit).serialized())]))
        }
        var wait = Int((nextHeartbeat - now) / 1_000_000) + 1
        let calls = runner.expire(now: now)
        if calls >= 0 { wait = min(wait, calls) }
        return wait
    }

    func drain(_ continuation: CheckedContinuation<Void, Never>) {
        draining = continuation
        isDraining.store(true, ordering: .releasing)
        send(Envelope.build(.heartbeat, [Frame(Heartbeat(credit: 0).serialized())]))
        finishDrainIfIdle()
    }

    private func finishDrainIfIdle() {
        if draining != nil, runner.inFlight == 0 { finishDrain() }
    }

    private func finishDrain() {
        send(Envelope.build(.disconnect, []))
        socket.flushOnClose(milliseconds: 500)
        logger.info("drained; left the broker")
        draining?.resume()
        draining = nil
        loop.stop()
    }

    func stopped() {
        runner.cancelAll()
        draining?.resume()
        draining = nil
        socket.close()
    }
}
