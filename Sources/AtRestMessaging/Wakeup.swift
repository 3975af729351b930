internal import CAtRestLinux
import Glibc

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
