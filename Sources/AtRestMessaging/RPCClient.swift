internal import CZeroMQ
import AtRestWire
import Logging
import Tracing
import Synchronization

/// Calls methods on an AtRest server or broker over DEALER sockets.
///
/// Many calls can be in flight; replies are matched by call id. Every call
/// has a deadline and ends by it (DEADLINE_EXCEEDED), never hangs. With
/// several endpoints (replicas) the client fails over Freelance-style: its
/// sockets only queue to live connections (ZMQ_IMMEDIATE), so a request
/// that cannot be handed to one replica goes to the next without having
/// been sent anywhere.
public final class RPCClient: Sendable {
    public let endpoints: [String]
    private let configuration: RPCClientConfiguration
    private let loop: PollLoop
    private let core: ClientCore
    /// Call ids: a random 64-bit epoch per client and a counter. Ids only
    /// match replies to calls, so they need to be unique, not secret; this
    /// avoids two getrandom calls per call.
    private let callEpoch = UInt64.random(in: .min ... .max)
    private let callCounter = Atomic<UInt64>(0)

    public convenience init(
        endpoint: String, context: ZMQContext = .shared, configuration: RPCClientConfiguration = RPCClientConfiguration()
    ) throws {
        try self.init(endpoints: [endpoint], context: context, configuration: configuration)
    }

    public init(
        endpoints: [String], context: ZMQContext = .shared,
        configuration: RPCClientConfiguration = RPCClientConfiguration()
    ) throws {
        precondition(!endpoints.isEmpty, "an RPCClient needs at least one endpoint")
        self.endpoints = endpoints
        self.configuration = configuration
        var sockets: [ZMQSocket] = [], watching: [HandshakeMonitor] = []
        for endpoint in endpoints {
            let socket = try ZMQSocket(.dealer, context: context, limits: configuration.limits)
            if let curve = configuration.curve { try curve.apply(to: socket) }
            if endpoints.count > 1 { try socket.setOption(ZMQ_IMMEDIATE, 1) }
            // Watched before it connects: the handshake starts at once on
            // libzmq's I/O thread, and a refusal that came before the monitor
            // would be lost (libzmq does not retry it), leaving every call to
            // its deadline instead of UNAUTHENTICATED.
            watching.append(try HandshakeMonitor(watching: socket, context: context))
            try socket.connect(endpoint)
            sockets.append(socket)
        }
        // The loop polls the handshake monitors (its own sockets) and the
        // DEALERs' descriptors: calls send from their own tasks (ClientCore).
        let monitors = watching
        let loop = try PollLoop(name: "rpc-client")
        self.loop = loop
        // A wake-up must read the sockets: whoever asked for it may have
        // consumed the descriptor's signal, so polling would not see it.
        let core = ClientCore(sockets: sockets, logger: configuration.logger) { [weak loop] in
            loop?.submit { [weak loop] in loop?.recheck() }
        }
        self.core = core
        loop.sockets = monitors.map(\.socket)
        loop.descriptors = core.descriptors
        let count = monitors.count
        loop.onReadable = { index in
            if index < count {
                core.handshake(index, monitors[index].drain())
                return
            }
            if core.hasUnsent {
                // A call found no peer: read the socket's monitor first, so a refusal ends it as such.
                core.handshake(index - count, monitors[index - count].drain())
                core.settleUnsent(index - count)
            }
            if core.readable(index - count) {
                loop.submit { [weak loop] in loop?.recheck() }
            }
        }
        loop.onTick = { now in core.expire(now: now) }
        loop.onStop = {
            core.close()
            for monitor in monitors { monitor.close() }
        }
        loop.start()
    }

    /// Calls `method` with a typed request and decodes the typed reply.
    public func call<Request: WireMessage, Reply: WireMessage>(
        _ method: String, request: Request, as replyType: Reply.Type = Reply.self, payload: [[UInt8]] = [],
        timeout: Duration? = nil, metadata: [String: String] = [:], idempotent: Bool = false,
        idempotencyKey: String = ""
    ) async throws -> RPCReply<Reply> {
        try await call(
            method, request: request, as: replyType, parts: payload.map(PayloadPart.init), timeout: timeout,
            metadata: metadata, idempotent: idempotent, idempotencyKey: idempotencyKey)
    }

    /// Calls `method` with payload parts (sent without copying; a part may be
    /// a slice of a larger buffer) and decodes the typed reply.
    public func call<Request: WireMessage, Reply: WireMessage>(
        _ method: String, request: Request, as replyType: Reply.Type = Reply.self, parts: [PayloadPart],
        timeout: Duration? = nil, metadata: [String: String] = [:], idempotent: Bool = false,
        idempotencyKey: String = ""
    ) async throws -> RPCReply<Reply> {
        let options = CallOptions(
            timeout: timeout, metadata: metadata, idempotent: idempotent, idempotencyKey: idempotencyKey)
        let response = try await call(method, body: request.serialized(), parts: parts, options: options)
        do {
            return RPCReply(message: try Reply(serialized: response.body), parts: response.parts)
        } catch {
            throw RPCStatus(.internal, "the reply to \(method) is not a valid \(Reply.protoName)")
        }
    }

    /// Calls `method` with a raw body; retries per `RetryPolicy`. Throws
    /// `RPCStatus` for every failure.
    public func call(
        _ method: String, body: [UInt8], payload: [[UInt8]] = [], options: CallOptions = CallOptions()
    ) async throws -> RPCResponse {
        try await call(method, body: body, parts: payload.map(PayloadPart.init), options: options)
    }

    /// Calls `method` with a raw body and payload parts; retries per
    /// `RetryPolicy`. Throws `RPCStatus` for every failure. Inside a trace
    /// span the call carries it as `traceparent` (unless the caller set one).
    public func call(
        _ method: String, body: [UInt8], parts payload: [PayloadPart], options: CallOptions = CallOptions()
    ) async throws -> RPCResponse {
        var options = options
        if options.metadata["traceparent"] == nil, let context = InstrumentationContext.current {
            InstrumentationSystem.instrument.inject(context, into: &options.metadata, using: TraceparentInjector())
        }
        let timeout = (options.timeout ?? configuration.defaultTimeout).nanoseconds
        let deadline = monotonicNanos() + timeout
        var attempt = 1
        while true {
            do {
                return try await once(method, body: body, payload: payload, options: options,
                                      attempt: attempt, deadline: deadline)
            } catch let status as RPCStatus
                where status.code == .unavailable && options.retryable && attempt < configuration.retry.maxAttempts {
                let wait = configuration.retry.backoff(after: attempt, retryAfterMs: status.retryAfterMs)
                guard monotonicNanos() + wait.nanoseconds < deadline else { throw status }
                configuration.logger.debug("retrying", metadata: ["method": "\(method)", "attempt": "\(attempt)"])
                try await Task.sleep(for: wait)
                attempt += 1
            }
        }
    }

    private func once(
        _ method: String, body: [UInt8], payload: [PayloadPart], options: CallOptions, attempt: Int, deadline: UInt64
    ) async throws -> RPCResponse {
        let now = monotonicNanos()
        guard deadline > now else { throw RPCStatus(.deadlineExceeded, "\(method) timed out") }
        try Task.checkCancellation()
        let key = CallKey(high: callEpoch, low: callCounter.add(1, ordering: .relaxed).newValue)
        let header = RPCHeader(
            method: method, callID: key.bytes, idempotencyKey: options.idempotencyKey, attempt: UInt32(attempt),
            timeoutMs: UInt32(min((deadline - now + 999_999) / 1_000_000, UInt64(UInt32.max))),
            metadata: options.metadata)
        var frames = Envelope.build(.request, [Frame(header.serialized()), Frame(body)])
        for part in payload { frames.append(Frame(part)) }
        let core = self.core
        let reply: RawReply = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                // Sent from this task's thread, no hand-off (ClientCore).
                core.send(key, frames, method: method, deadline: deadline, continuation)
                // A cancellation that came before the call was registered.
                if Task.isCancelled { core.cancel(key) }
            }
        } onCancel: {
            core.cancel(key)
        }
        guard reply.header.status.isOK else { throw reply.header.status }
        return RPCResponse(body: reply.body.bytes, parts: reply.payload.map(\.part))
    }

    /// The client's poll thread as a task executor. A caller that runs its
    /// calls under `withTaskExecutorPreference(client.executor)` is resumed
    /// with each reply on the thread that received it, with no hand-off to
    /// the cooperative pool (one thread wake-up less per call; its child
    /// tasks inherit the preference). Only for code that does little between
    /// calls: while it runs, this client receives nothing, and it must never
    /// block.
    public var executor: any TaskExecutor { loop }

    /// Stops the client; calls in flight fail with UNAVAILABLE.
    public func close() { loop.stop() }

    deinit { loop.stop() }
}

/// The 16-byte call id as two words (cheap to hash).
struct CallKey: Hashable {
    var high: UInt64
    var low: UInt64

    init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    init?(_ bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for i in 0..<8 { high = high << 8 | UInt64(bytes[i]) }
        for i in 8..<16 { low = low << 8 | UInt64(bytes[i]) }
        self.init(high: high, low: low)
    }

    var bytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64($0))) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64($0))) }
    }
}

/// A reply as it left the loop: header decoded, frames not yet copied.
struct RawReply: @unchecked Sendable {
    var header: ReplyHeader
    var body: Frame
    var payload: [Frame]
}

/// Writes the current span's `traceparent` into a call's metadata.
struct TraceparentInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
}
