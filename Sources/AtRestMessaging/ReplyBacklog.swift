/// Replies the client socket could not take at once, per client.
///
/// The client ROUTER's send high-water mark is a few messages (see
/// `BrokerConfiguration.clientSendBufferBytes`), so a burst of small replies
/// to a client that does read can briefly meet EAGAIN; those wait here and
/// are retried every loop tick. A client that does not read makes no
/// progress: its waiting replies are dropped once none has gone for
/// `timeout`, and a reply that would take its waiting bytes past
/// `bytesPerClient` is dropped at once. Either way the memory held for one
/// client is bounded. Order between replies is not kept (a DEALER client
/// matches replies by call id). Confined to one loop thread.
struct ReplyBacklog<Message> {
    struct Limits: Sendable, Equatable {
        var bytesPerClient: Int
        /// Nanoseconds a client's waiting replies may go without progress.
        var timeout: UInt64
    }

    private struct Waiting {
        var messages: [(message: Message, bytes: Int)] = []
        var bytes = 0
        /// When a reply to this client last went out (or the first waited).
        var progress: UInt64
    }

    let limits: Limits
    private var waiting: [[UInt8]: Waiting] = [:]
    /// Replies dropped since the start (operator status).
    private(set) var dropped: UInt64 = 0

    init(limits: Limits) { self.limits = limits }

    var isEmpty: Bool { waiting.isEmpty }

    /// Bytes waiting for `client`.
    func bytes(for client: [UInt8]) -> Int { waiting[client]?.bytes ?? 0 }

    /// Keeps `message` for a retry; false (and counted as dropped) when it
    /// would take the client past its byte budget (one reply always fits).
    mutating func park(_ message: Message, bytes: Int, client: [UInt8], now: UInt64) -> Bool {
        var entry = waiting[client] ?? Waiting(progress: now)
        guard entry.messages.isEmpty || entry.bytes + bytes <= limits.bytesPerClient else {
            dropped += 1
            return false
        }
        entry.messages.append((message, bytes))
        entry.bytes += bytes
        waiting[client] = entry
        return true
    }

    /// Offers every waiting reply to `send` (true: it went) until a client's
    /// first refusal; drops the replies of clients without progress for
    /// `timeout`. Returns how many went, and the clients whose replies were
    /// dropped, with how many.
    mutating func retry(now: UInt64, send: ([UInt8], Message) -> Bool)
        -> (sent: Int, expired: [(client: [UInt8], dropped: Int)])
    {
        var expired: [(client: [UInt8], dropped: Int)] = []
        var total = 0
        for client in Array(waiting.keys) {
            // Taken out while it changes, so its array is not copied.
            var entry = waiting.removeValue(forKey: client)!
            var sent = 0
            while sent < entry.messages.count, send(client, entry.messages[sent].message) {
                entry.bytes -= entry.messages[sent].bytes
                sent += 1
            }
            total += sent
            if sent > 0 {
                entry.messages.removeFirst(sent)
                entry.progress = now
            }
            if entry.messages.isEmpty {
                continue
            } else if now - entry.progress >= limits.timeout {
                dropped += UInt64(entry.messages.count)
                expired.append((client, entry.messages.count))
            } else {
                waiting[client] = entry
            }
        }
        return (total, expired)
    }

    /// Every waiting reply, removed (shutdown).
    mutating func removeAll() { waiting.removeAll() }
}
