import AtRestWire
import Synchronization

/// Slows down repeated failed logins for one principal.
///
/// After `freeFailures` consecutive failures, each further failure locks the
/// principal for an exponentially growing delay (`baseDelaySeconds` doubling,
/// capped at `maxDelaySeconds`). While locked, logins are refused with
/// RESOURCE_EXHAUSTED and `retry_after_ms` *without checking the secret*, so
/// guessing cannot go faster than the delays allow. A success resets the count;
/// failures older than `forgetAfterSeconds` are forgotten. Unknown principals
/// are tracked the same way, so the answers do not reveal which names exist.
/// Trade-off (as for any lockout): someone who knows a name can delay that
/// principal's logins; the delay is bounded by `maxDelaySeconds`.
public final class LoginThrottle: Sendable {
    public struct Policy: Sendable {
        public var freeFailures: Int = 3
        public var baseDelaySeconds: Int64 = 1
        public var maxDelaySeconds: Int64 = 900
        public var forgetAfterSeconds: Int64 = 3600
        /// Bounds memory under a flood of made-up names.
        public var maxTracked: Int = 100_000
        public init() {}
    }

    private struct Entry {
        var failures: Int
        var lastFailure: Int64
        var lockedUntil: Int64
    }

    private let policy: Policy
    private let now: @Sendable () -> Int64
    private let entries = Mutex<[String: Entry]>([:])

    public init(policy: Policy, now: @escaping @Sendable () -> Int64) {
        self.policy = policy
        self.now = now
    }

    /// Throws RESOURCE_EXHAUSTED when `key` is locked right now.
    func checkAllowed(_ key: String) throws(RPCStatus) {
        let now = now()
        let lockedUntil = entries.withLock { $0[key]?.lockedUntil ?? 0 }
        if lockedUntil > now {
            let waitMs = UInt32(clamping: (lockedUntil - now) * 1000)
            throw RPCStatus(.resourceExhausted,
                            "too many failed logins for '\(key)'; try again in \(lockedUntil - now) s",
                            retryAfterMs: waitMs)
        }
    }

    func recordSuccess(_ key: String) { _ = entries.withLock { $0.removeValue(forKey: key) } }

    /// Records a failure; returns the lock delay it started (0 when none).
    @discardableResult
    func recordFailure(_ key: String) -> Int64 {
        let now = now()
        return entries.withLock { entries in
            if entries.count >= policy.maxTracked {
                entries = entries.filter { now - $0.value.lastFailure < policy.forgetAfterSeconds || $0.value.lockedUntil > now }
                if entries.count >= policy.maxTracked { entries.removeAll() }
            }
            var entry = entries[key] ?? Entry(failures: 0, lastFailure: now, lockedUntil: 0)
            if now - entry.lastFailure >= policy.forgetAfterSeconds { entry.failures = 0 }
            entry.failures += 1
            entry.lastFailure = now
            var delay: Int64 = 0
            let over = entry.failures - policy.freeFailures
            if over > 0 {
                let doublings = Int64(min(over - 1, 30))
                delay = min(policy.baseDelaySeconds << doublings, policy.maxDelaySeconds)
                entry.lockedUntil = now + delay
            }
            entries[key] = entry
            return delay
        }
    }
}
