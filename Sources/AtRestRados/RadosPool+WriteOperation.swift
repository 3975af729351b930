internal import CRados

extension RadosPool {
    /// Applies `operation` to `object` atomically, blocking the calling thread;
    /// returns the object's new version.
    @discardableResult
    public func operate(_ object: String, _ operation: RadosWriteOperation) throws -> UInt64 {
        let op = Self.makeWriteOp(operation)
        defer { rados_release_write_op(op) }
        let done = RadosCompletion.wait { rados_aio_write_op_operate(op, ioctx, $0, object, nil, 0) }
        try check(done.returnValue, "write op \(name)/\(object)")
        return done.version
    }

    /// `operate` without blocking a thread.
    @discardableResult
    public func operate(_ object: String, _ operation: RadosWriteOperation) async throws -> UInt64 {
        let op = Self.makeWriteOp(operation)
        defer { rados_release_write_op(op) }
        sent.add(1, ordering: .relaxed)
        let bytes = operation.steps.reduce(0) { sum, step in if case .writeFull(let data) = step { sum + data.count } else { sum } }
        let done = await cluster.budget.spending(bytes) { await RadosCompletion.awaitResult { rados_aio_write_op_operate(op, ioctx, $0, object, nil, 0) } }
        try check(done.returnValue, "write op \(name)/\(object)")
        return done.version
    }

    /// The librados write op for `operation` (librados copies every buffer while it is added).
    private static func makeWriteOp(_ operation: RadosWriteOperation) -> rados_write_op_t {
        let op: rados_write_op_t = rados_create_write_op()
        for step in operation.steps {
            switch step {
            case .assertVersion(let version): rados_write_op_assert_version(op, version)
            case .assertExists: rados_write_op_assert_exists(op)
            case .create(let exclusive): rados_write_op_create(op, exclusive ? LIBRADOS_CREATE_EXCLUSIVE : LIBRADOS_CREATE_IDEMPOTENT, nil)
            case .compareXattr(let key, let value):
                value.withCChars { rados_write_op_cmpxattr(op, key, UInt8(LIBRADOS_CMPXATTR_OP_EQ), $0, $1) }
            case .compareOmap(let key, let value):
                // No result pointer: a failed comparison fails the whole op (-ECANCELED).
                value.withCChars { rados_write_op_omap_cmp(op, key, UInt8(LIBRADOS_CMPXATTR_OP_EQ), $0, $1, nil) }
            case .setXattr(let key, let value):
                value.withCChars { rados_write_op_setxattr(op, key, $0, $1) }
            case .writeFull(let data):
                data.withUnsafeBytes { rados_write_op_write_full(op, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count) }
            case .setOmap(let entries):
                CStringArray.withPairs(entries) { keys, values, keyLengths, valueLengths, count in
                    rados_write_op_omap_set2(op, keys, values, keyLengths, valueLengths, count)
                }
            case .removeOmapKeys(let keys):
                CStringArray.withPairs(Dictionary(keys.map { ($0, []) }, uniquingKeysWith: { a, _ in a })) { keys, _, keyLengths, _, count in
                    rados_write_op_omap_rm_keys2(op, keys, keyLengths, count)
                }
            case .remove: rados_write_op_remove(op)
            }
        }
        return op
    }
}

extension Array where Element == UInt8 {
    /// The bytes as a C `char` pointer and length for the duration of `body`.
    func withCChars<R>(_ body: (UnsafePointer<CChar>?, Int) -> R) -> R {
        withUnsafeBytes { body($0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count) }
    }
}
