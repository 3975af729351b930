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

    /// Reads into `buffer` what of it is in the page cache now, without
    /// waiting for the device (`preadv2(RWF_NOWAIT)`); the count (0 when
    /// nothing is cached, or where the kernel cannot say).
    static func readCached(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) -> Int {
        guard let base = buffer.baseAddress, !buffer.isEmpty else { return 0 }
        return max(0, Int(atrest_linux_pread_cached(descriptor, base, Int64(buffer.count), Int64(offset))))
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
