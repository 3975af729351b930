internal import CAtRestLinux
import Glibc

/// The Linux file calls the store uses beyond POSIX (GNU extensions the Glibc
/// module does not import), through the `CAtRestLinux` shim.
enum LinuxFileCalls {
    /// Atomically swaps the files at `a` and `b` (same filesystem, both must
    /// exist). false with errno set when it did not happen: ENOENT when `b` is
    /// missing, EINVAL/ENOSYS where the filesystem or kernel cannot.
    static func exchange(_ a: String, _ b: String) -> Bool {
        atrest_linux_rename_exchange(a, b) == 0
    }

    /// `O_DIRECT`; its value differs by architecture.
    static let directIO: Int32 = atrest_linux_o_direct

    /// Starts writeback of `count` bytes at `offset` without waiting for it,
    /// so the device works while the rest of the file is still being sealed
    /// (`fdatasync` then waits for less). A hint: failures are ignored, the
    /// `fdatasync` before publishing is what makes the data durable.
    static func startWriteback(_ descriptor: Int32, offset: Int, count: Int) {
        _ = atrest_linux_start_writeback(descriptor, Int64(offset), Int64(count))
    }
}
