internal import CRados
import Synchronization

/// An open pool (one `rados_ioctx_t`). The synchronous verbs block the calling
/// thread until the OSDs answer (bounded by the configured timeout); from async
/// code use the `async` verbs (RadosPool+Async.swift), which do not.
public final class RadosPool: @unchecked Sendable {
    // Immutable after init; an ioctx may be used from several threads.
    let ioctx: rados_ioctx_t
    /// Keeps the connection alive while the pool is in use.
    public let cluster: RadosCluster
    public let name: String
    /// Aio ops this pool sent (reads, read ops, write ops, `write_full`):
    /// the round trips a call cost, which tests and benches count.
    public var opsSent: Int { sent.load(ordering: .relaxed) }
    let sent = Atomic<Int>(0)

    init(cluster: RadosCluster, ioctx: rados_ioctx_t, name: String) {
        self.cluster = cluster
        self.ioctx = ioctx
        self.name = name
    }

    deinit { rados_ioctx_destroy(ioctx) }

    /// Replaces the whole object with `data` (creating it if needed).
    public func writeFull(_ object: String, _ data: [UInt8]) throws {
        let rc = data.withUnsafeBytes { rados_write_full(ioctx, object, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count) }
        try check(rc, "write_full \(name)/\(object)")
    }

    /// Up to `length` bytes from `offset` (fewer at the end of the object).
    public func read(_ object: String, offset: UInt64 = 0, length: Int) throws -> [UInt8] {
        guard length > 0 else { return [] }
        var buffer = [UInt8](repeating: 0, count: length)
        let rc = buffer.withUnsafeMutableBytes { rados_read(ioctx, object, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count, offset) }
        try check(rc, "read \(name)/\(object)")
        buffer.removeSubrange(Int(rc)...)
        return buffer
    }

    /// Size, modification time and version of `object`; `.notFound` when absent.
    public func stat(_ object: String) throws -> RadosObjectStat {
        let op = rados_create_read_op()
        defer { rados_release_read_op(op) }
        var size: UInt64 = 0
        var mtime: time_t = 0
        var rval: Int32 = 0
        rados_read_op_stat(op, &size, &mtime, &rval)
        // Through a completion: its version is this call's (rados_get_last_version is per ioctx, racy).
        let done = RadosCompletion.wait { rados_aio_read_op_operate(op, ioctx, $0, object, 0) }
        try check(done.returnValue, "stat \(name)/\(object)")
        try check(rval, "stat \(name)/\(object)")
        return RadosObjectStat(size: size, modified: Int64(mtime), version: done.version)
    }

    /// Removes `object`; `.notFound` when absent.
    public func remove(_ object: String) throws {
        try check(rados_remove(ioctx, object), "remove \(name)/\(object)")
    }

    /// The value of xattr `key` of `object`; `.notFound` when the object or xattr is absent.
    public func xattr(_ object: String, _ key: String, maxLength: Int = 4096) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: maxLength)
        let rc = buffer.withUnsafeMutableBytes { rados_getxattr(ioctx, object, key, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count) }
        try check(rc, "getxattr \(name)/\(object) \(key)")
        buffer.removeSubrange(Int(rc)...)
        return buffer
    }
}

/// What `RadosPool.stat` reports of one object.
public struct RadosObjectStat: Sendable, Equatable {
    public var size: UInt64
    /// Seconds since the epoch.
    public var modified: Int64
    /// The object's version, for `RadosWriteOperation.assertVersion`.
    public var version: UInt64

    public init(size: UInt64, modified: Int64, version: UInt64) {
        self.size = size
        self.modified = modified
        self.version = version
    }
}
