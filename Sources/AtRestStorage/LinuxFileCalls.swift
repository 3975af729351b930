import Glibc

/// Two Linux calls the Glibc module does not import (GNU extensions, declared
/// only under `_GNU_SOURCE`), looked up in libc once at run time rather than
/// through a C shim target of their own. Where libc lacks one, the caller
/// falls back to the portable call.
enum LinuxFileCalls {
    private typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
    private typealias SyncFileRange = @convention(c) (Int32, Int64, Int64, UInt32) -> Int32

    private static let renameAt2: RenameAt2? = symbol("renameat2")
    private static let syncFileRange: SyncFileRange? = symbol("sync_file_range")
    /// `RENAME_EXCHANGE` and `SYNC_FILE_RANGE_WRITE` (linux/fs.h, fcntl.h).
    private static let renameExchange: UInt32 = 2
    private static let syncFileRangeWrite: UInt32 = 2

    private static func symbol<T>(_ name: String) -> T? {
        // RTLD_DEFAULT is the null handle in glibc.
        guard let pointer = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }
        return unsafeBitCast(pointer, to: T.self)
    }

    /// Atomically swaps the files at `a` and `b` (same filesystem, both must
    /// exist). false with errno set when it did not happen: ENOENT when `b` is
    /// missing, EINVAL/ENOSYS where the filesystem or kernel cannot.
    static func exchange(_ a: String, _ b: String) -> Bool {
        guard let renameAt2 else {
            errno = ENOSYS
            return false
        }
        while true {
            if renameAt2(AT_FDCWD, a, AT_FDCWD, b, renameExchange) == 0 { return true }
            if errno != EINTR { return false }
        }
    }

    /// `O_DIRECT` (also behind `_GNU_SOURCE`); its value differs by architecture.
    #if arch(x86_64)
    static let directIO: Int32 = 0o40000
    #elseif arch(arm64)
    static let directIO: Int32 = 0o200000
    #else
    static let directIO: Int32 = 0
    #endif

    /// Starts writeback of `count` bytes at `offset` without waiting for it,
    /// so the device works while the rest of the file is still being sealed
    /// (`fdatasync` then waits for less). A hint: failures are ignored, the
    /// `fdatasync` before publishing is what makes the data durable.
    static func startWriteback(_ descriptor: Int32, offset: Int, count: Int) {
        _ = syncFileRange?(descriptor, Int64(offset), Int64(count), syncFileRangeWrite)
    }
}
