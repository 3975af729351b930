import AtRestWire
import Logging

/// The broker's loop-confined state: the client side, the queue and dispatch.
/// The worker side is in BrokerCore+Workers.swift.
final class BrokerCore {
    /// A client call waiting for, or running on, a worker.
    struct Call {
        var client: [UInt8]
        var callID: [UInt8]
        var header: RPCHeader
        /// nil once sent to a worker without a retry copy (not retryable).
        var body: Frame?
        var payload: [Frame]
        var deadline: UInt64
        var retryable: Bool
    }

    struct Dispatched {
        var call: Call
        var worker: [UInt8]
    }

    let clients: ZMQSocket
    let workerSocket: ZMQSocket
    let configuration: BrokerConfiguration
    let logger: Logger
    var runner: CallRunner?
    var workers: [[UInt8]: WorkerState] = [:]
    var queue = CallQueue<Call>()
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
        if let local = configuration.localService {
            runner = CallRunner(loop: loop, service: local, logger: logger) { [unowned clients, logger] frames in
                do { try clients.send(frames) } catch {
                    logger.debug("reply not delivered", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    var stats: BrokerStats {
        BrokerStats(
            workers: workers.count, freeCredit: workers.values.reduce(0) { $0 + $1.freeCredit },
            queued: queue.count, dispatched: dispatched.count,
            workerDetails: workers.values.map { BrokerWorkerStats(name: $0.name, capacity: $0.capacity, inFlight: $0.inFlight.count) }
                .sorted { $0.name < $1.name },
            replies: replyCounts)
    }

    // MARK: clients

    func clientsReadable() {
        clients.drain(logger: logger) { handleClient($0) }
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
        let request: IncomingRequest
        do {
            request = try IncomingRequest.parse(envelope, limits: configuration.limits)
        } catch {
            replyToClient(envelope.route, callID: error.callID, RPCStatus(.invalidArgument, error.reason))
            return
        }
        let now = monotonicNanos()
        let timeout = request.header.timeoutMs > 0
            ? UInt64(request.header.timeoutMs) * 1_000_000 : configuration.defaultTimeout.nanoseconds
        let method = request.header.method
        if configuration.route(method) == .local {
            guard let runner else {
                replyToClient(request.route, callID: request.header.callID,
                              RPCStatus(.unimplemented, "unknown method '\(method)'"))
                return
            }
            runner.start(request, deadline: now + timeout, now: now)
            return
        }
        guard queue.count < configuration.maxQueue else {
            replyToClient(request.route, callID: request.header.callID, RPCStatus(
                .resourceExhausted, "too many calls are waiting for a worker; retry later", retryAfterMs: 200))
            return
        }
        guard request.route.count == 1 else {
            replyToClient(request.route, callID: request.header.callID,
                          RPCStatus(.invalidArgument, "requests to the broker must come from a DEALER"))
            return
        }
        var header = request.header
        if let admit = configuration.admit, let refusal = admit(&header) {
            replyToClient(request.route, callID: request.header.callID, refusal)
            return
        }
        let call = Call(
            client: request.route[0].bytes, callID: request.header.callID, header: header,
            body: request.body, payload: request.payload, deadline: now + timeout,
            retryable: configuration.isIdempotent(method) || !request.header.idempotencyKey.isEmpty)
        queue.append(call)
        nextQueueDeadline = min(nextQueueDeadline, call.deadline)
        dispatch(now: now)
    }

    func replyToClient(_ route: [Frame], callID: [UInt8], _ status: RPCStatus) {
        replyCounts[status.code, default: 0] += 1
        send(clients, Envelope.reply(route: route, header: ReplyHeader(callID: callID, status: status)))
    }

    func replyToClient(_ call: Call, _ status: RPCStatus) {
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
                replyToClient(call, RPCStatus(.deadlineExceeded, "no worker took \(call.header.method) in time"))
                continue
            }
            counter &+= 1
            let key = CallKey(high: epoch, low: counter)
            var header = call.header
            header.callID = key.bytes
            header.timeoutMs = UInt32(max(1, (call.deadline - now) / 1_000_000))
            guard let body = call.body else { continue }
            var frames = Envelope.build(route: [Frame(worker.id)], .request, [Frame(header.serialized()), body])
            frames.append(contentsOf: call.payload)
            // Keep a copy (shared buffers) only when the call may be re-queued.
            let kept = call.retryable ? (body.copy(), call.payload.map { $0.copy() }) : nil
            do {
                try workerSocket.send(frames)
            } catch {
                // The worker vanished between heartbeats: forget it, retry the call.
                logger.info("worker unreachable", metadata: ["worker": "\(worker.name)"])
                queue.pushFront(call)
                workerDied(worker.id, reason: "unreachable", now: now)
                continue
            }
            call.body = kept?.0
            call.payload = kept?.1 ?? []
            worker.inFlight.insert(key)
            worker.lastUsed = now
            dispatched[key] = Dispatched(call: call, worker: worker.id)
        }
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
            let expired = queue.removeAll { $0.deadline <= now }
            for call in expired {
                replyToClient(call, RPCStatus(.deadlineExceeded, "no worker took \(call.header.method) in time"))
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
        return wait
    }

    func shutdown() {
        runner?.cancelAll()
        for entry in dispatched.values {
            replyToClient(entry.call, RPCStatus(.unavailable, "the broker is shutting down", retryAfterMs: 500))
        }
        queue.forEach { replyToClient($0, RPCStatus(.unavailable, "the broker is shutting down", retryAfterMs: 500)) }
        dispatched.removeAll()
    }
}
