import AtRestWire
import Logging

/// What the broker knows about one connected worker.
final class WorkerState {
    let id: [UInt8]
    var name: String
    var capacity: Int
    var inFlight: Set<CallKey> = []
    var lastSeen: UInt64
    var lastUsed: UInt64 = 0

    init(id: [UInt8], name: String, capacity: Int, now: UInt64) {
        self.id = id
        self.name = name
        self.capacity = capacity
        lastSeen = now
    }

    var freeCredit: Int { max(0, capacity - inFlight.count) }
}

extension BrokerCore {
    func workersReadable() {
        workerSocket.drain(logger: logger) { handleWorker($0) }
    }

    private func handleWorker(_ received: [Frame]) {
        let envelope: Envelope
        do {
            envelope = try Envelope.parse(received, routed: true, limits: configuration.limits)
        } catch {
            logger.debug("dropped malformed worker message", metadata: ["reason": "\(error.reason)"])
            return
        }
        let id = envelope.route[0].bytes
        let now = monotonicNanos()
        let known = workers[id]
        known?.lastSeen = now
        switch envelope.command {
        case .ready:
            guard let body = envelope.frames.first,
                  let ready = try? body.withUnsafeBytes({ try WorkerReady(serialized: $0) }) else {
                logger.info("dropped READY without a valid WorkerReady")
                return
            }
            if known != nil { workerDied(id, reason: "announced itself again", now: now) }
            let name = ready.workerID.isEmpty ? "worker" : ready.workerID
            workers[id] = WorkerState(id: id, name: name, capacity: Int(ready.credit), now: now)
            logger.info("worker ready", metadata: ["worker": "\(name)", "credit": "\(ready.credit)"])
            dispatch(now: now)
        case .heartbeat:
            guard let known else { return disconnect(id) }
            if let body = envelope.frames.first,
               let beat = try? body.withUnsafeBytes({ try Heartbeat(serialized: $0) }) {
                known.capacity = Int(beat.credit)
            }
            dispatch(now: now)
        case .reply:
            guard known != nil else { return disconnect(id) }
            forwardReply(envelope, from: id, now: now)
        case .disconnect:
            if known != nil { workerDied(id, reason: "disconnected", now: now) }
        case .request:
            logger.debug("dropped a request sent by a worker")
        }
    }

    /// Sends DISCONNECT to a peer the broker does not know, so it re-registers.
    private func disconnect(_ id: [UInt8]) {
        send(workerSocket, Envelope.build(route: [Frame(id)], .disconnect, []))
    }

    private func forwardReply(_ envelope: Envelope, from worker: [UInt8], now: UInt64) {
        guard let headerFrame = envelope.frames.first, let key = headerFrame.replyCallKey,
              let entry = dispatched[key], entry.worker == worker
        else {
            logger.debug("dropped a reply for no known call")
            return
        }
        dispatched[key] = nil
        workers[worker]?.inFlight.remove(key)
        var header = headerFrame
        if entry.rewritten {
            // The worker saw a broker call id: put the client's back.
            guard var decoded = try? headerFrame.withUnsafeBytes({ try ReplyHeader(serialized: $0) }) else {
                replyToClient(entry.call, RPCStatus(.internal, "the worker sent a reply header that does not decode"))
                dispatch(now: now)
                return
            }
            decoded.callID = entry.call.callID
            header = Frame(decoded.serialized())
        }
        replyCounts[headerFrame.replyStatusCode, default: 0] += 1
        queue.finished(entry.call.client)
        configuration.callEvents?(.answered(callID: entry.call.callID))
        var frames = Envelope.build(route: [Frame(entry.call.client)], .reply, [header])
        frames.append(contentsOf: envelope.frames.dropFirst())
        sendToClient(frames)
        // After the send: the client does not wait for the metrics.
        if let onWorkerReply = configuration.onWorkerReply {
            onWorkerReply(entry.call.method, headerFrame.replyStatusCode, now &- entry.call.received, entry.call.queuedBytes,
                          envelope.frames.dropFirst().reduce(0) { $0 + $1.count })
        }
        dispatch(now: now)
    }

    /// Forgets a worker; its calls are re-queued when they may run twice,
    /// otherwise failed with UNAVAILABLE.
    func workerDied(_ id: [UInt8], reason: String, now: UInt64) {
        guard let worker = workers.removeValue(forKey: id) else { return }
        logger.notice("worker gone", metadata: [
            "worker": "\(worker.name)", "reason": "\(reason)", "calls": "\(worker.inFlight.count)",
        ])
        for key in worker.inFlight {
            guard var entry = dispatched.removeValue(forKey: key) else { continue }
            if entry.call.retryable, entry.call.body != nil, entry.call.deadline > now {
                entry.call.extraAttempts += 1
                queue.pushFront(entry.call)
            } else {
                replyToClient(entry.call, RPCStatus(
                    .unavailable,
                    "the worker running \(entry.call.method) stopped; the call may or may not have taken effect"))
            }
        }
        dispatch(now: now)
    }

    /// Sends heartbeats when due and buries silent workers; returns ms until
    /// the next heartbeat.
    func heartbeat(now: UInt64) -> Int {
        let interval = configuration.heartbeatInterval.nanoseconds
        if now >= nextHeartbeat {
            nextHeartbeat = now + interval
            let limit = interval * UInt64(configuration.liveness)
            for worker in Array(workers.values) {
                if now - worker.lastSeen > limit {
                    workerDied(worker.id, reason: "missed \(configuration.liveness) heartbeats", now: now)
                } else {
                    send(workerSocket, Envelope.build(
                        route: [Frame(worker.id)], .heartbeat, [Frame(Heartbeat(credit: 0).serialized())]))
                }
            }
        }
        return Int((nextHeartbeat - now) / 1_000_000) + 1
    }
}
