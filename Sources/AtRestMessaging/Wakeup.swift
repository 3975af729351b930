internal import CAtRestLinux
import Glibc
import Dispatch

/// An eventfd that another thread writes to wake a poll loop; it sits in the
/// loop's poll set next to the sockets.
final class Wakeup: @unchecked Sendable {
    // The descriptor is set once; eventfd reads and writes are thread-safe.
    let fd: Int32

    init() throws {
        let fd = atrest_linux_eventfd()
        guard fd >= 0 else { throw MessagingError(.system, "eventfd failed (errno \(errno))", errno: errno) }
        self.fd = fd
    }

    func signal() {
        var one: UInt64 = 1
        while write(fd, &one, 8) < 0 && errno == EINTR {}
    }

    /// Resets the counter (called by the loop before draining its inbox).
    func drain() {
        var value: UInt64 = 0
        while read(fd, &value, 8) < 0 && errno == EINTR {}
    }

    deinit { Glibc.close(fd) }
}

/// Monotonic time in nanoseconds (CLOCK_MONOTONIC), the loops' clock.
@inline(__always)
func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}


/// Converts the loops' monotonic deadlines to the `DispatchTime` that
/// `RPCRequest.deadline` carries.
enum DispatchTimeBridge {
    static func dispatchTime(monotonicNanos deadline: UInt64) -> DispatchTime {
        let now = monotonicNanos()
        let left = deadline > now ? deadline - now : 0
        return DispatchTime.now() + .nanoseconds(Int(min(left, UInt64(Int.max))))
    }
}
