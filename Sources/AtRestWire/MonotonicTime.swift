import Glibc

/// Monotonic time in nanoseconds (CLOCK_MONOTONIC): the one clock of the call
/// path. Deadlines, timeouts, heartbeats and ages are points on it (`UInt64`
/// in the loops, `Deadline` where a service sees them); configured lengths
/// are `Duration`, converted once with `nanoseconds`. Why not
/// `ContinuousClock`: measured cheaper on the hot path (docs/ARCHITECTURE.md
/// "Time on the call path").
@inlinable @inline(__always)
public func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// When a call must be finished by, on the `monotonicNanos()` clock
/// (`RPCRequest.deadline`, derived from `RpcHeader.timeout_ms` on arrival).
public struct Deadline: Sendable, Hashable, Comparable {
    /// The `monotonicNanos()` reading at which the caller stops waiting.
    public var nanoseconds: UInt64

    public init(nanoseconds: UInt64) {
        self.nanoseconds = nanoseconds
    }

    /// `timeout` from now.
    public static func after(_ timeout: Duration) -> Deadline {
        Deadline(nanoseconds: monotonicNanos() &+ timeout.nanoseconds)
    }

    /// The time left (zero once passed).
    public var timeLeft: Duration {
        let now = monotonicNanos()
        return .nanoseconds(Int64(clamping: nanoseconds > now ? nanoseconds - now : 0))
    }

    public static func < (a: Deadline, b: Deadline) -> Bool { a.nanoseconds < b.nanoseconds }
}

extension Duration {
    /// Whole nanoseconds (negative durations count as zero).
    public var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        return UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
    }
}
