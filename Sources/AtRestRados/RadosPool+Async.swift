internal import CRados

extension RadosPool {
    /// `writeFull` without blocking a thread: the task suspends until the OSDs
    /// acknowledge. Returns the object's new version.
    @discardableResult
    public func writeFull(_ object: String, _ data: [UInt8]) async throws -> UInt64 {
        sent.add(1, ordering: .relaxed)
        // librados copies the bytes into its own buffer during the call.
        let done = await cluster.budget.spending(data.count) {
            await RadosCompletion.awaitResult { completion in
                data.withUnsafeBytes { rados_aio_write_full(ioctx, object, completion, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count) }
            }
        }
        try check(done.returnValue, "aio write_full \(name)/\(object)")
        return done.version
    }

    /// `read` without blocking a thread: up to `length` bytes from `offset`.
    public func read(_ object: String, offset: UInt64 = 0, length: Int) async throws -> [UInt8] {
        guard length > 0 else { return [] }
        sent.add(1, ordering: .relaxed)
        // The buffer must outlive the call: librados fills it when the reply arrives.
        let buffer = ReadBuffer(count: length)
        let done = await cluster.budget.spending(length) {
            await RadosCompletion.awaitResult(keepAlive: buffer) { completion in
                rados_aio_read(ioctx, object, completion, buffer.pointer, length, offset)
            }
        }
        try check(done.returnValue, "aio read \(name)/\(object)")
        return Array(UnsafeRawBufferPointer(start: buffer.pointer, count: Int(done.returnValue)))
    }

    /// A heap buffer owned by one aio read, freed when the read is done.
    private final class ReadBuffer: @unchecked Sendable {
        let pointer: UnsafeMutablePointer<CChar>
        init(count: Int) { pointer = .allocate(capacity: count) }
        deinit { pointer.deallocate() }
    }
}
