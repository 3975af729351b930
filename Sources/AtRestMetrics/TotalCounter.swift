import Prometheus
import Synchronization

/// A Prometheus counter fed from a running total kept elsewhere (the
/// broker's reply counts, the key cache's hits): each `update` adds what
/// the total grew by since the last one.
public final class TotalCounter: Sendable {
    private let counter: Counter
    private let seen = Mutex<UInt64>(0)

    public init(_ counter: Counter) { self.counter = counter }

    public func update(total: UInt64) {
        let increase = seen.withLock { seen -> UInt64 in
            defer { seen = max(seen, total) }
            return total > seen ? total - seen : 0
        }
        if increase > 0 { counter.increment(by: Int64(clamping: increase)) }
    }
}
