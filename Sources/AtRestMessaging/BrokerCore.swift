import AtRestWire
import Logging

/// The broker's loop-confined state: the client side, the queue and dispatch.
/// The worker side is in BrokerCore+Workers.swift.
final class BrokerCore {
    /// A client call waiting for, or running on, a worker.
    struct Call {
        var client: [UInt8]
        var callID: [UInt8]
        var method: String
        /// The client's RpcHeader frame, forwarded unchanged when nothing in
        /// it must change (see `dispatch`); nil once sent without a retry copy.
        var header: Frame?
        /// The admitted header as decoded on arrival (brokers with an
        /// admission hook), so a rewrite for the worker needs no second decode.
        var admitted: RPCHeader?
        var body: Frame?
        var payload: [Frame]
        /// When the broker received the call, and the timeout it came with.
        var received: UInt64
        var timeoutMs: UInt32
        /// Attempts added by the broker (re-queued after a worker died).
        var extraAttempts: UInt32 = 0
        var deadline: UInt64
        var retryable: Bool
        /// Body and payload bytes held while the call waits.
        var queuedBytes: Int
    }

    struct Dispatched {
        var call: Call
        var worker: [UInt8]
        /// The header sent to the worker carries a broker call id (the reply's must be mapped back).
        var rewritten: Bool
    }

    let clients: ZMQSocket
    let workerSocket: ZMQSocket
    let configuration: BrokerConfiguration
    let logger: Logger
    var runner: CallRunner?
    var workers: [[UInt8]: WorkerState] = [:]
    var queue: FairCallQueue<Call>
    /// Replies the client socket refused (high-water mark), for a retry.
    var backlog: ReplyBacklog<[Frame]>
    /// When a reply last entered or left the backlog (see `retryBacklog`).
    var backlogActivity: UInt64 = 0
    var dispatched: [CallKey: Dispatched] = [:]
    private var nextQueueDeadline: UInt64 = .max
    private let epoch = UInt64.random(in: .min ... .max)
    private var counter: UInt64 = 0
    var nextHeartbeat: UInt64 = 0
    /// Replies to clients by status code (operator status).
    var replyCounts: [StatusCode: UInt64] = [:]

    init(clients: ZMQSocket, workers: ZMQSocket, loop: PollLoop, configuration: BrokerConfiguration) {
        self.clients = clients
        workerSocket = workers
        self.configuration = configuration
        logger = configuration.logger
        queue = FairCallQueue(limits: .init(
            callsPerClient: configuration.maxCallsPerClient,
            queuedBytesPerClient: configuration.maxQueuedBytesPerClient, totalQueued: configuration.maxQueue))
        backlog = ReplyBacklog(limits: .init(
            bytesPerClient: configuration.clientBacklogBytes, timeout: configuration.slowClientTimeout.nanoseconds))
        if let local = configuration.localService {
            // The client socket belongs to the loop thread (the data path
            // forwards on it), so local replies are handed back to the loop.
            let core = UncheckedWeakBox(self)
            runner = CallRunner(service: local, logger: logger) { [weak loop] frames in
                let message = UncheckedBox(frames)
                loop?.submit { core.value?.sendToClient(message.value) }
            }
        }
    }

    var stats: BrokerStats {
        BrokerStats(
            workers: workers.count, freeCredit: workers.values.reduce(0) { $0 + $1.freeCredit },
            queued: queue.count, dispatched: dispatched.count,
            workerDetails: workers.values.map { BrokerWorkerStats(name: $0.name, capacity: $0.capacity, inFlight: $0.inFlight.count) }
                .sorted { $0.name < $1.name },
            replies: replyCounts, clients: queue.clients, droppedReplies: backlog.dropped)
    }

    // MARK: clients

    /// Reads clients in rounds of 32 calls (admission decodes and checks
    /// each one), so workers' replies, which free credit, are not held up
    /// behind a burst from one client.
    func clientsReadable() {
        clients.drain(limit: 32, logger: logger) { handleClient($0) }
    }

    private func handleClient(_ received: [Frame]) {
        let envelope: Envelope
        do {
            envelope = try Envelope.parse(received, routed: true, limits: configuration.limits)
        } catch {
            logger.debug("dropped malformed client message", metadata: ["reason": "\(error.reason)"])
            return
        }
        guard envelope.command == .request else { return }
        guard let routing = envelope.frames.first.flatMap(RequestRouting.init) else {
            replyToClient(envelope.route, callID: [], RPCStatus(
                .invalidArgument, "request header is not a valid atrest.v1.RpcHeader"))
            return
        }
        do throws(IncomingRequest.Rejection) {
            try IncomingRequest.validate(
                callID: routing.callID, method: routing.method, envelope, limits: configuration.limits)
        } catch {
            replyToClient(envelope.route, callID: error.callID, RPCStatus(.invalidArgument, error.reason))
            return
        }
        let now = monotonicNanos()
        let timeout = min(routing.timeoutMs > 0
            ? UInt64(routing.timeoutMs) * 1_000_000 : configuration.defaultTimeout.nanoseconds, configuration.maxTimeout.nanoseconds)
        let method = routing.method
        if configuration.route(method) == .local {
            guard let runner else {
                replyToClient(envelope.route, callID: routing.callID,
                              RPCStatus(.unimplemented, "unknown method '\(method)'"))
                return
            }
            do {
                runner.start(try IncomingRequest.parse(envelope, limits: configuration.limits),
                             deadline: now + timeout, now: now)
            } catch {
                replyToClient(envelope.route, callID: error.callID, RPCStatus(.invalidArgument, error.reason))
            }
            return
        }
        guard envelope.route.count == 1 else {
            replyToClient(envelope.route, callID: routing.callID,
                          RPCStatus(.invalidArgument, "requests to the broker must come from a DEALER"))
            return
        }
        let frames = envelope.frames
        let client = envelope.route[0].bytes
        let bytes = frames.dropFirst().reduce(0) { $0 + $1.count }
        if let refusal = queue.refusal(client: client, bytes: bytes) {
            replyToClient(envelope.route, callID: routing.callID, refusalStatus(refusal))
            return
        }
        var headerFrame = frames[0]
        var admitted: RPCHeader?
        if let admit = configuration.admit {
            // The host's admission hook (the front door: authentication, account
            // context) works on the decoded header, so admitted calls are re-encoded.
            guard var header = try? headerFrame.withUnsafeBytes({ try RPCHeader(serialized: $0) }) else {
                replyToClient(envelope.route, callID: routing.callID,
                              RPCStatus(.invalidArgument, "request header is not a valid atrest.v1.RpcHeader"))
                return
            }
            if let refusal = admit(&header) {
                replyToClient(envelope.route, callID: routing.callID, refusal)
                return
            }
            headerFrame = Frame(header.serialized())
            admitted = header
        }
        let call = Call(
            client: client, callID: routing.callID, method: method, header: headerFrame, admitted: admitted,
            body: frames.count > 1 ? frames[1] : Frame.empty(), payload: Array(frames.dropFirst(2)),
            received: now, timeoutMs: routing.timeoutMs, deadline: now + timeout,
            retryable: configuration.isIdempotent(method) || routing.hasIdempotencyKey, queuedBytes: bytes)
        queue.append(call)
        nextQueueDeadline = min(nextQueueDeadline, call.deadline)
        dispatch(now: now)
    }

    func replyToClient(_ route: [Frame], callID: [UInt8], _ status: RPCStatus) {
        replyCounts[status.code, default: 0] += 1
        sendToClient(Envelope.reply(route: route, header: ReplyHeader(callID: callID, status: status)))
    }

    /// Answers a popped or dispatched call: it no longer counts against its client.
    func replyToClient(_ call: Call, _ status: RPCStatus) {
        queue.finished(call.client)
        configuration.callEvents?(.answered(callID: call.callID))
        replyToClient([Frame(call.client)], callID: call.callID, status)
    }

    func send(_ socket: ZMQSocket, _ frames: [Frame]) {
        do {
            try socket.send(frames)
        } catch {
            logger.debug("message not delivered", metadata: ["error": "\(error)"])
        }
    }

    // MARK: dispatch

    /// Hands queued calls to the least recently used workers with credit.
    func dispatch(now: UInt64) {
        while !queue.isEmpty, let worker = leastRecentlyUsedWorkerWithCredit() {
            guard var call = queue.popFirst() else { return }
            guard call.deadline > now else {
                replyToClient(call, RPCStatus(.deadlineExceeded, "no worker took \(call.method) in time"))
                continue
            }
            guard let header = call.header, let body = call.body else {
                queue.finished(call.client)
                continue
            }
            guard let (key, headerOut, rewritten) = workerHeader(for: call, now: now) else {
                replyToClient(call, RPCStatus(.invalidArgument, "request header is not a valid atrest.v1.RpcHeader"))
                continue
            }
            var frames = Envelope.build(route: [Frame(worker.id)], .request, [headerOut, body])
            frames.append(contentsOf: call.payload)
            // Keep a copy (shared buffers) only when the call may be re-queued.
            let kept = call.retryable ? (header.copy(), body.copy(), call.payload.map { $0.copy() }) : nil
            do {
                try workerSocket.send(frames)
            } catch {
                // The worker vanished between heartbeats: forget it, retry the call.
                logger.info("worker unreachable", metadata: ["worker": "\(worker.name)"])
                if !rewritten { call.header = headerOut }
                queue.pushFront(call)
                workerDied(worker.id, reason: "unreachable", now: now)
                continue
            }
            call.header = kept?.0
            if kept == nil { call.admitted = nil }
            call.body = kept?.1
            call.payload = kept?.2 ?? []
            worker.inFlight.insert(key)
            worker.lastUsed = now
            configuration.callEvents?(.dispatched(callID: call.callID))
            dispatched[key] = Dispatched(call: call, worker: worker.id, rewritten: rewritten)
        }
    }

    /// The header a worker gets for `call` and the key its reply will carry.
    ///
    /// Fast path: a call dispatched within the millisecond it arrived, on
    /// its first broker attempt, with a 16-byte call id not already in use,
    /// goes out with the client's header frame untouched (its timeout is
    /// still exact to the millisecond) and is tracked by the client's call
    /// id. Otherwise the header (decoded here, or as admitted: never decoded
    /// twice) is re-encoded with a broker call id, the time left and the
    /// attempt number.
    private func workerHeader(for call: Call, now: UInt64) -> (CallKey, Frame, Bool)? {
        guard let header = call.header else { return nil }
        if now - call.received < 1_000_000, call.extraAttempts == 0, call.timeoutMs > 0,
           UInt64(call.timeoutMs) * 1_000_000 <= configuration.maxTimeout.nanoseconds, let key = CallKey(call.callID), dispatched[key] == nil {
            return (key, header, false)
        }
        guard var decoded = call.admitted ?? (try? header.withUnsafeBytes({ try RPCHeader(serialized: $0) })) else {
            return nil
        }
        counter &+= 1
        let key = CallKey(high: epoch, low: counter)
        decoded.callID = key.bytes
        decoded.timeoutMs = UInt32(max(1, (call.deadline - now) / 1_000_000))
        decoded.attempt &+= call.extraAttempts
        return (key, Frame(decoded.serialized()), true)
    }

    private func leastRecentlyUsedWorkerWithCredit() -> WorkerState? {
        var best: WorkerState?
        for worker in workers.values where worker.freeCredit > 0 {
            if best == nil || worker.lastUsed < best!.lastUsed { best = worker }
        }
        return best
    }

    // MARK: time

    func tick(now: UInt64) -> Int {
        var wait = heartbeat(now: now)
        if now >= nextQueueDeadline {
            // removeAll counts them finished already.
            let expired = queue.removeAll { $0.deadline <= now }
            for call in expired {
                replyToClient([Frame(call.client)], callID: call.callID,
                              RPCStatus(.deadlineExceeded, "no worker took \(call.method) in time"))
            }
            nextQueueDeadline = .max
            queue.forEach { nextQueueDeadline = min(nextQueueDeadline, $0.deadline) }
        }
        if nextQueueDeadline != .max {
            wait = min(wait, Int((nextQueueDeadline - now) / 1_000_000) + 1)
        }
        if let runner {
            let local = runner.expire(now: now)
            if local >= 0 { wait = min(wait, local) }
        }
        if !backlog.isEmpty {
            let backlogWait = retryBacklog(now: now)
            if backlogWait >= 0 { wait = min(wait, backlogWait) }
        }
        return wait
    }

    func shutdown() {
        runner?.cancelAll()
        for entry in dispatched.values {
            replyToClient(entry.call, RPCStatus(.unavailable, "the broker is shutting down", retryAfterMs: 500))
        }
        // By route: replying by call would change the queue while it is read.
        queue.forEach {
            replyToClient([Frame($0.client)], callID: $0.callID,
                          RPCStatus(.unavailable, "the broker is shutting down", retryAfterMs: 500))
        }
        dispatched.removeAll()
        backlog.removeAll()
    }
}
