import Glibc

/// The FUSE layer's error: a POSIX errno answered to the kernel (file
/// system calls) or a mount that failed (`Code`), with a message a user can
/// act on. Never carries file contents or key material.
public struct FUSEError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// A file system call failed with `errno`.
        case posix
        /// The mount point is missing or not a directory.
        case notADirectory
        /// The mount point is not empty (and mounting over files was not allowed).
        case notEmpty
        /// /dev/fuse is missing (no FUSE in this kernel or container).
        case noDevice
        /// /dev/fuse cannot be opened or mount(2) is refused.
        case notPermitted
        /// libfuse could not set up the file system or mount it.
        case mountFailed
    }

    public let code: Code
    /// The errno the kernel gets (EIO for mount failures).
    public let errno: Int32
    public let message: String

    public init(errno: Int32, _ message: String = "") {
        self.code = .posix
        self.errno = errno
        self.message = message
    }

    public init(_ code: Code, _ message: String, errno: Int32 = EIO) {
        self.code = code
        self.errno = errno
        self.message = message
    }

    /// The errno of the last failed libc call, with what was being done.
    public static func lastErrno(_ what: String) -> FUSEError {
        let number = Glibc.errno
        return FUSEError(errno: number, "\(what): \(String(cString: strerror(number)))")
    }

    public var description: String {
        message.isEmpty ? String(cString: strerror(errno)) : message
    }

    public static let notFound = FUSEError(errno: ENOENT)
    public static let exists = FUSEError(errno: EEXIST)
    public static let notEmpty = FUSEError(errno: ENOTEMPTY)
    public static let isDirectory = FUSEError(errno: EISDIR)
    public static let notDirectory = FUSEError(errno: ENOTDIR)
    public static let invalid = FUSEError(errno: EINVAL)
    public static let notSupported = FUSEError(errno: ENOTSUP)
}
