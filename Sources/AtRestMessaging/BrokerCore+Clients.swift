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
            if !backlog.park(frames, bytes: bytes, client: route.bytes, now: monotonicNanos()) {
                logger.debug("reply dropped: its client does not read and has the most replies waiting")
            }
        }
    }

    func retryBacklog(now: UInt64) {
        let clients = self.clients
        let expired = backlog.retry(now: now) { _, frames in
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
