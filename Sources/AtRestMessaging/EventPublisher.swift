internal import CZeroMQ
import AtRestWire
import Logging

/// Configuration of an `EventPublisher`; plain values with defaults.
public struct EventPublisherConfiguration: Sendable {
    public var limits: MessagingLimits
    /// How often a heartbeat (carrying the last sequence number) goes out, so
    /// subscribers notice a lost last event and a silent publisher.
    public var heartbeatInterval: Duration
    /// CURVE server keys and allowed subscribers; nil: plain TCP.
    public var curve: CurveServerConfiguration?
    public var logger: Logger

    public init(
        limits: MessagingLimits = .default, heartbeatInterval: Duration = .seconds(1),
        curve: CurveServerConfiguration? = nil, logger: Logger = Logger(label: "atrest.events.publisher")
    ) {
        self.limits = limits
        self.heartbeatInterval = heartbeatInterval
        self.curve = curve
        self.logger = logger
    }
}

/// Publishes events (key rotated, disabled, access revoked, ...) to any
/// number of `EventSubscriber`s.
///
/// An XPUB socket bound to `endpoint`, owned by one poll-loop thread like
/// every AtRest socket; `publish` only queues the message for that thread,
/// so it never blocks the request path. Each event carries a sequence number
/// and the publisher sends a heartbeat every `heartbeatInterval` and at once
/// when a subscriber arrives (XPUB shows subscriptions), so subscribers learn
/// quickly that they are connected and notice lost events. PUB/SUB still
/// loses messages (a subscriber that is not connected yet, or too slow, gets
/// nothing): subscribers must also re-check what they cache on a timer.
public final class EventPublisher: Sendable {
    /// The real bound endpoint (an ephemeral port is resolved).
    public let endpoint: String
    private let loop: PollLoop
    private let core: UncheckedBox<PublisherCore>

    public init(endpoint: String, context: ZMQContext = .shared,
                configuration: EventPublisherConfiguration = EventPublisherConfiguration()) throws {
        let socket = try ZMQSocket(.xpub, context: context, limits: configuration.limits)
        // Every subscription reaches the loop, not only the first per topic,
        // so each new subscriber gets its greeting heartbeat.
        try socket.setOption(ZMQ_XPUB_VERBOSE, 1)
        if let curve = configuration.curve { try curve.apply(to: socket, context: context) }
        self.endpoint = try socket.bind(endpoint)
        loop = try PollLoop(name: "event-publisher")
        let core = PublisherCore(socket: socket, configuration: configuration)
        self.core = UncheckedBox(core)
        loop.sockets = [socket]
        loop.onReadable = { _ in core.readable() }
        loop.onTick = { now in core.tick(now: now) }
        loop.onStop = { socket.close() }
        loop.start()
        configuration.logger.info("event publisher listening", metadata: ["endpoint": "\(self.endpoint)"])
    }

    /// Queues one event under `topic` (subscribers filter by topic prefix).
    public func publish(topic: String, body: [UInt8]) {
        let core = self.core
        loop.submit { core.value.send(topic: topic, body: body) }
    }

    /// Queues one event message under `topic`.
    public func publish(topic: String, _ message: some WireMessage) {
        publish(topic: topic, body: message.serialized())
    }

    /// Stops publishing and closes the socket; queued events are dropped.
    public func close() { loop.stop() }

    deinit { loop.stop() }
}

/// The publisher's loop-confined state.
private final class PublisherCore {
    let socket: ZMQSocket
    let configuration: EventPublisherConfiguration
    let epoch = UInt64.random(in: 1 ... .max)
    var sequence: UInt64 = 0
    var nextHeartbeat: UInt64 = 0

    init(socket: ZMQSocket, configuration: EventPublisherConfiguration) {
        self.socket = socket
        self.configuration = configuration
    }

    func send(topic: String, body: [UInt8]) {
        sequence += 1
        transmit(topic: topic, body: body)
    }

    /// Subscription messages: greet (re)subscribing peers with a heartbeat.
    func readable() {
        var subscribed = false
        socket.drain(logger: configuration.logger) { frames in
            if frames.count == 1, frames[0].firstByte == 1 { subscribed = true }
        }
        if subscribed { heartbeat() }
    }

    func tick(now: UInt64) -> Int {
        let interval = max(configuration.heartbeatInterval.nanoseconds, 1_000_000)
        if now >= nextHeartbeat {
            heartbeat()
            nextHeartbeat = now + interval
        }
        return Int((nextHeartbeat - now + 999_999) / 1_000_000)
    }

    private func heartbeat() { transmit(topic: EventFrames.heartbeatTopic, body: []) }

    private func transmit(topic: String, body: [UInt8]) {
        let frames = [Frame(topic), Frame(EventFrames.header(epoch: epoch, sequence: sequence)), Frame(body)]
        do {
            try socket.send(frames)
        } catch {
            // XPUB drops for slow subscribers instead of blocking; they re-check.
            configuration.logger.debug("event not sent", metadata: ["topic": "\(topic)", "error": "\(error)"])
        }
    }
}
