import Dispatch
import FoundationEssentials

/// Wall-clock seconds since the epoch.
public enum UnixClock {
    @Sendable public static func now() -> Int64 { Int64(Date().timeIntervalSince1970) }
    /// Milliseconds on the monotonic clock (intervals only).
    @Sendable public static func monotonicMillis() -> Int64 { Int64(DispatchTime.now().uptimeNanoseconds / 1_000_000) }
}
