internal import CZeroMQ
import AtRestWire
import Logging
import Synchronization

/// Configuration of an `EventSubscriber`; plain values with defaults.
public struct EventSubscriberConfiguration: Sendable {
    public var limits: MessagingLimits
    /// A `.recheck` is delivered this often whatever happens: PUB/SUB may lose
    /// messages in ways nobody can see, so caches re-validate on a timer.
    public var recheckInterval: Duration
    /// No heartbeat for this long: the publisher is presumed gone and a
    /// `.recheck` is delivered (3 × the publisher's default 1 s heartbeat).
    public var silenceTimeout: Duration
    /// How long the SUB waits between reconnect attempts (libzmq reconnects by itself).
    public var reconnectInterval: Duration
    /// CURVE client keys and the publisher's public key; nil: plain TCP.
    public var curve: CurveClientConfiguration?
    public var logger: Logger

    public init(
        limits: MessagingLimits = .default, recheckInterval: Duration = .seconds(30), silenceTimeout: Duration = .seconds(3),
        reconnectInterval: Duration = .milliseconds(100), curve: CurveClientConfiguration? = nil,
        logger: Logger = Logger(label: "atrest.events.subscriber")
    ) {
        self.limits = limits
        self.recheckInterval = recheckInterval
        self.silenceTimeout = silenceTimeout
        self.reconnectInterval = reconnectInterval
        self.curve = curve
        self.logger = logger
    }
}

/// What a subscriber hands its user.
public enum EventDelivery<Event: WireMessage>: Sendable {
    /// One event, decoded, with the topic it was published under.
    case event(topic: String, Event)
    /// Events may have been missed (a gap in the sequence, a restarted or
    /// silent publisher, an undecodable message, the periodic timer, or the
    /// first connection): re-check everything cached against the source.
    case recheck(reason: String)
}

/// Receives events from an `EventPublisher` as an async stream.
///
/// A SUB socket connected to `endpoint` (libzmq reconnects on its own when
/// the publisher restarts), owned by one poll-loop thread. PUB/SUB can lose
/// messages, so the stream also carries `.recheck` whenever a loss is
/// possible and every `recheckInterval`: a subscriber that caches keys must
/// re-validate them then (e.g. the vault's `KeyStatus`), not only on events.
public final class EventSubscriber<Event: WireMessage>: Sendable {
    /// Events and re-check requests, in order. Ends after `close()`.
    public let deliveries: AsyncStream<EventDelivery<Event>>
    private let loop: PollLoop
    private let connected = ConnectedFlag()

    /// - Parameter topics: topic prefixes to receive; `[""]` (the default) receives everything.
    public init(endpoint: String, topics: [String] = [""], context: ZMQContext = .shared,
                configuration: EventSubscriberConfiguration = EventSubscriberConfiguration()) throws {
        let socket = try ZMQSocket(.sub, context: context, limits: configuration.limits)
        try socket.setOption(ZMQ_RECONNECT_IVL, Int32(clamping: configuration.reconnectInterval.nanoseconds / 1_000_000))
        if let curve = configuration.curve { try curve.apply(to: socket) }
        for topic in Set(topics + [EventFrames.heartbeatTopic]) { try socket.setOption(ZMQ_SUBSCRIBE, string: topic) }
        try socket.connect(endpoint)
        let (stream, continuation) = AsyncStream.makeStream(of: EventDelivery<Event>.self, bufferingPolicy: .bufferingNewest(65_536))
        deliveries = stream
        let connected = self.connected
        loop = try PollLoop(name: "event-subscriber")
        let core = SubscriberCore<Event>(socket: socket, configuration: configuration, continuation: continuation,
                                         onFirstMessage: { connected.value.store(true, ordering: .releasing) })
        loop.sockets = [socket]
        loop.onReadable = { _ in core.readable() }
        loop.onTick = { now in core.tick(now: now) }
        loop.onStop = { continuation.finish(); socket.close() }
        loop.start()
    }

    /// Whether anything (event or heartbeat) has arrived from the publisher yet.
    public var isConnected: Bool { connected.value.load(ordering: .acquiring) }

    /// Waits until the publisher has been heard (it greets new subscribers at
    /// once), so events published after this returns true reach this subscriber.
    public func waitUntilConnected(timeout: Duration = .seconds(5)) async -> Bool {
        let deadline = Deadline.after(timeout)
        while !isConnected {
            guard monotonicNanos() < deadline.nanoseconds else { return false }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return true
    }

    public func close() { loop.stop() }

    deinit { loop.stop() }
}

/// Set by the loop thread when the publisher is first heard.
private final class ConnectedFlag: Sendable {
    let value = Atomic<Bool>(false)
}

/// The subscriber's loop-confined state: sequence tracking and timers.
private final class SubscriberCore<Event: WireMessage> {
    let socket: ZMQSocket
    let configuration: EventSubscriberConfiguration
    let continuation: AsyncStream<EventDelivery<Event>>.Continuation
    let onFirstMessage: () -> Void
    var epoch: UInt64?
    var sequence: UInt64 = 0
    var lastHeard: UInt64 = 0
    var silent = false
    var nextRecheck: UInt64 = 0

    init(socket: ZMQSocket, configuration: EventSubscriberConfiguration,
         continuation: AsyncStream<EventDelivery<Event>>.Continuation, onFirstMessage: @escaping () -> Void) {
        self.socket = socket
        self.configuration = configuration
        self.continuation = continuation
        self.onFirstMessage = onFirstMessage
    }

    func readable() {
        socket.drain(logger: configuration.logger) { frames in
            guard let message = EventFrames.parse(frames) else {
                configuration.logger.debug("dropped malformed event message", metadata: ["frames": "\(frames.count)"])
                return
            }
            receive(message)
        }
    }

    private func receive(_ message: (topic: String, epoch: UInt64, sequence: UInt64, body: [UInt8])) {
        lastHeard = monotonicNanos()
        silent = false
        let heartbeat = message.topic == EventFrames.heartbeatTopic
        // A heartbeat repeats the last number sent; an event is the next one.
        let expected = heartbeat ? sequence : sequence &+ 1
        if epoch == nil {
            onFirstMessage()
            continuation.yield(.recheck(reason: "connected to the publisher (events before this were not seen)"))
        } else if epoch != message.epoch {
            continuation.yield(.recheck(reason: "the publisher restarted"))
        } else if message.sequence != expected {
            continuation.yield(.recheck(reason: "missed \(message.sequence &- expected) event(s) (sequence \(message.sequence), expected \(expected))"))
        }
        epoch = message.epoch
        sequence = message.sequence
        guard !heartbeat else { return }
        do {
            continuation.yield(.event(topic: message.topic, try Event(serialized: message.body)))
        } catch {
            configuration.logger.warning("undecodable event", metadata: ["topic": "\(message.topic)", "error": "\(error)"])
            continuation.yield(.recheck(reason: "an event under '\(message.topic)' could not be decoded"))
        }
    }

    func tick(now: UInt64) -> Int {
        let recheck = max(configuration.recheckInterval.nanoseconds, 1_000_000)
        if nextRecheck == 0 { nextRecheck = now + recheck }
        if now >= nextRecheck {
            continuation.yield(.recheck(reason: "periodic re-check"))
            nextRecheck = now + recheck
        }
        let silence = configuration.silenceTimeout.nanoseconds
        var wake = nextRecheck
        if epoch != nil, !silent {
            if now >= lastHeard + silence {
                silent = true
                continuation.yield(.recheck(reason: "no heartbeat from the publisher for \(configuration.silenceTimeout)"))
            } else {
                wake = min(wake, lastHeard + silence)
            }
        }
        return Int((wake - min(wake, now) + 999_999) / 1_000_000)
    }
}
