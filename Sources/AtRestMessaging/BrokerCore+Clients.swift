import AtRestWire

extension BrokerCore.Call: FairlyQueued {}

/// Bounds on what one client may hold in the broker: calls refused at its
/// limits, replies it does not read (docs/OPERATIONS.md "Limits").
extension BrokerCore {
    /// Sends a reply; one the client socket refuses at its high-water mark
    /// waits in the backlog (retried every tick, dropped if the client stays
    /// stalled or over its budget).
    func sendToClient(_ frames: [Frame]) {
        do {
            try clients.send(frames)
        } catch {
            guard error.code == .wouldBlock, let route = frames.first else {
                logger.debug("reply not delivered", metadata: ["error": "\(error)"])
                return
            }
            let bytes = frames.reduce(0) { $0 + $1.count }
            let now = monotonicNanos()
            if backlog.park(frames, bytes: bytes, client: route.bytes, now: now) {
                backlogActivity = now
            } else {
                logger.debug("reply dropped: its client does not read and has the most replies waiting")
            }
        }
    }

    /// Retries waiting replies; returns how long the loop may sleep (ms).
    /// libzmq re-opens a peer's pipe when the socket processes its I/O
    /// thread's commands, which wakes no poll: so for 1 ms after a reply was
    /// parked or went, the loop polls without sleeping, then every 1 ms.
    func retryBacklog(now: UInt64) -> Int {
        _ = clients.isReadable  // ZMQ_EVENTS: processes those commands
        let clients = self.clients
        let (sent, expired) = backlog.retry(now: now) { _, frames in
            do throws(MessagingError) {
                try clients.send(frames)
                return true
            } catch {
                return error.code != .wouldBlock  // gone for good: nothing left to wait for
            }
        }
        for (_, count) in expired {
            logger.notice("dropped replies to a client that reads none", metadata: [
                "replies": "\(count)", "after": "\(configuration.slowClientTimeout)",
            ])
        }
        if sent > 0 { backlogActivity = now }
        if backlog.isEmpty { return -1 }
        return now - backlogActivity < 1_000_000 ? 0 : 1
    }

    func refusalStatus(_ refusal: FairCallQueue<Call>.Refusal) -> RPCStatus {
        switch refusal {
        case .clientCalls:
            RPCStatus(.resourceExhausted, "this connection has \(configuration.maxCallsPerClient) calls waiting or"
                + " running, the most allowed; retry when some have finished", retryAfterMs: 100)
        case .clientBytes:
            RPCStatus(.resourceExhausted, "this connection's waiting calls hold the most bytes allowed"
                + " (\(configuration.maxQueuedBytesPerClient >> 20) MiB); retry later", retryAfterMs: 200)
        case .total:
            RPCStatus(.resourceExhausted, "too many calls are waiting for a worker; retry later", retryAfterMs: 200)
        }
    }
}
