internal import CRados

extension RadosPool {
    /// Applies `operation` to `object` without blocking a thread (one aio
    /// read op: every step sees the same version of the object).
    public func read(_ object: String, _ operation: RadosReadOperation) async throws -> RadosReadResult {
        sent.add(1, ordering: .relaxed)
        let op: rados_read_op_t = rados_create_read_op()
        defer { rados_release_read_op(op) }
        // Out-parameters librados fills when the reply arrives: they live in
        // `outputs`, which the completion keeps alive until then.
        let outputs = ReadOutputs(operation)
        outputs.add(to: op)
        let bytes = operation.steps.reduce(0) { sum, step in if case .read(_, let length) = step { sum + length } else { sum } }
        let done = await cluster.budget.spending(bytes) {
            await RadosCompletion.awaitResult(keepAlive: outputs) { rados_aio_read_op_operate(op, ioctx, $0, object, 0) }
        }
        let call = "read op \(name)/\(object)"
        try check(done.returnValue, call)
        return try outputs.result(version: done.version, call)
    }
}

/// The C out-parameters of one read op, owned by a class so they outlive
/// the submitting call; iterators are released in `deinit`.
private final class ReadOutputs: @unchecked Sendable {
    let steps: [RadosReadOperation.Step]
    let rvals: UnsafeMutablePointer<Int32>
    var size: UInt64 = 0
    var mtime: time_t = 0
    var xattrIterator: rados_xattrs_iter_t?
    var omapIterator: rados_omap_iter_t?
    var keysIterator: rados_omap_iter_t?
    var keyListIterator: rados_omap_iter_t?
    var more: UInt8 = 0
    var keysMore: UInt8 = 0
    var buffer: UnsafeMutablePointer<CChar>?
    var bytesRead: Int = 0

    init(_ operation: RadosReadOperation) {
        steps = operation.steps
        rvals = .allocate(capacity: max(1, steps.count))
        rvals.initialize(repeating: 0, count: max(1, steps.count))
    }

    deinit {
        if let xattrIterator { rados_getxattrs_end(xattrIterator) }
        if let omapIterator { rados_omap_get_end(omapIterator) }
        if let keysIterator { rados_omap_get_end(keysIterator) }
        if let keyListIterator { rados_omap_get_end(keyListIterator) }
        buffer?.deallocate()
        rvals.deallocate()
    }

    func add(to op: rados_read_op_t) {
        for (index, step) in steps.enumerated() {
            let rval = rvals + index
            switch step {
            case .assertVersion(let version): rados_read_op_assert_version(op, version)
            case .stat: rados_read_op_stat(op, &size, &mtime, rval)
            case .xattrs: rados_read_op_getxattrs(op, &xattrIterator, rval)
            case .read(let offset, let length):
                let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: max(1, length))
                buffer = pointer
                rados_read_op_read(op, offset, length, pointer, &bytesRead, rval)
            case .omap(let after, let prefix, let max):
                rados_read_op_omap_get_vals2(op, after ?? "", prefix, UInt64(Swift.max(1, max)), &omapIterator, &more, rval)
            case .omapValues(let keys):
                // librados copies the keys into the op while it is built.
                CStringArray.withPairs(Dictionary(keys.map { ($0, []) }, uniquingKeysWith: { a, _ in a })) { keys, _, keyLengths, _, count in
                    rados_read_op_omap_get_vals_by_keys2(op, keys, count, keyLengths, &keysIterator, rval)
                }
            case .omapKeys(let after, let max):
                rados_read_op_omap_get_keys2(op, after ?? "", UInt64(Swift.max(1, max)), &keyListIterator, &keysMore, rval)
            }
        }
    }

    func result(version: UInt64, _ call: String) throws -> RadosReadResult {
        var result = RadosReadResult(version: version)
        for (index, step) in steps.enumerated() {
            try RadosError.check(rvals[index], call)
            switch step {
            case .assertVersion: break
            case .stat: result.stat = RadosObjectStat(size: size, modified: Int64(mtime), version: version)
            case .xattrs: result.xattrs = try xattrs(call)
            case .read: result.data = buffer.map { Array(UnsafeRawBufferPointer(start: $0, count: bytesRead)) } ?? []
            case .omap: result.omap = try omapPage(call)
            case .omapValues:
                if let keysIterator {
                    for (key, value) in try RadosOmapPage.entries(keysIterator, call) { result.omapValues[key] = value }
                }
            case .omapKeys:
                let keys = try keyListIterator.map { try RadosOmapPage.entries($0, call).map(\.key) } ?? []
                result.omapKeys = (keys, keysMore != 0)
            }
        }
        return result
    }

    private func xattrs(_ call: String) throws -> [String: [UInt8]] {
        guard let xattrIterator else { return [:] }
        var out: [String: [UInt8]] = [:]
        while true {
            var key: UnsafePointer<CChar>?
            var value: UnsafePointer<CChar>?
            var length = 0
            try RadosError.check(rados_getxattrs_next(xattrIterator, &key, &value, &length), call)
            guard let key else { return out }
            out[String(cString: key)] = value.map { Array(UnsafeRawBufferPointer(start: $0, count: length)) } ?? []
        }
    }

    private func omapPage(_ call: String) throws -> RadosOmapPage {
        guard let omapIterator else { return RadosOmapPage(entries: [], more: false) }
        return RadosOmapPage(entries: try RadosOmapPage.entries(omapIterator, call), more: more != 0)
    }
}
