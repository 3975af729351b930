/// What the NBD server serves: a named block device of a fixed size.
/// Offsets and lengths reaching the server's calls are already checked:
/// within `size`, multiples of `minimumBlockSize`, READ/WRITE at most the
/// server's payload limit (TRIM/WRITE_ZEROES may be longer: split them).
public protocol NBDExport: Sendable {
    /// The export name clients ask for (NBD_OPT_GO / NBD_OPT_INFO / NBD_OPT_LIST).
    var name: String { get }
    /// The size in bytes, read at each handshake (a client sees it fixed for its connection).
    var size: UInt64 { get async throws }
    /// Writes, trims and write-zeroes are refused with EPERM (NBD_FLAG_READ_ONLY).
    var isReadOnly: Bool { get }
    /// Requests must be aligned to this (a power of two; 1 = any byte).
    /// Above 1, clients must ask for block sizes (NBD_INFO_BLOCK_SIZE) or are refused.
    var minimumBlockSize: UInt32 { get }
    /// The I/O size the export prefers (advertised, not enforced).
    var preferredBlockSize: UInt32 { get }
    /// True only if a FLUSH on one connection covers the writes completed on
    /// every other connection to this export (NBD_FLAG_CAN_MULTI_CONN).
    var canMultiConn: Bool { get }

    func read(offset: UInt64, length: Int) async throws -> [UInt8]
    /// Returns once the data is where `flush` would put it.
    func write(offset: UInt64, data: [UInt8]) async throws
    func flush() async throws
    /// The range may read back as anything afterwards (NBD_CMD_TRIM); a
    /// store that releases storage reads it back as zeros.
    func trim(offset: UInt64, length: UInt64) async throws
    func writeZeroes(offset: UInt64, length: UInt64) async throws
}

extension NBDExport {
    public var isReadOnly: Bool { false }
    public var minimumBlockSize: UInt32 { 1 }
    public var preferredBlockSize: UInt32 { 4096 }
    public var canMultiConn: Bool { false }
}

/// The error an export throws to pick the client's errno (any other error
/// is answered with EIO). The message goes to the server's log, never to
/// the client (simple replies carry only the errno).
public struct NBDError: Error, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// EPERM: the credentials may not do this (a read-only role).
        case permission
        /// EIO: the store failed or is unavailable, a key is revoked, data failed its integrity check.
        case io
        /// EINVAL: a request the export cannot serve (misaligned, out of range).
        case invalid
        /// ENOSPC: no room (beyond the end, or the store is full).
        case noSpace
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    var errno: NBDErrno {
        switch code {
        case .permission: .permission
        case .io: .io
        case .invalid: .invalid
        case .noSpace: .noSpace
        }
    }
}
