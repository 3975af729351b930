import AtRestWire
import FoundationEssentials

/// Wall-clock seconds since the epoch.
public enum UnixClock {
    @Sendable public static func now() -> Int64 { Int64(Date().timeIntervalSince1970) }
    /// Milliseconds on the monotonic clock (intervals only).
    @Sendable public static func monotonicMillis() -> Int64 { Int64(monotonicNanos() / 1_000_000) }
}
