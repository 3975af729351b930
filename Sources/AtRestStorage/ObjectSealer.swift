/// Streaming encryption of one object into format v1 with bounded memory:
/// it holds at most one pending plaintext segment and one sealed segment.
///
/// Usage: write `provisionalHeader` first, feed data through `append`, then
/// `finish` returns the final header (same size) to write over the
/// provisional one — length and content hash are only known at the end.
public final class ObjectSealer {
    private let cipher: SegmentCipher
    private var metadata: ObjectMetadata
    private var pending: UnsafeMutableRawBufferPointer
    private var pendingCount = 0
    private var sealedBuffer: UnsafeMutableRawBufferPointer
    private var index: UInt32 = 0
    private var length: UInt64 = 0
    private var finished = false
    /// The header written before any data; `finish` returns its final form.
    public let provisionalHeader: [UInt8]

    /// `context` binds the object key to its identity (see `ObjectIdentity`).
    public convenience init(accountKey: AccountKey, context: [UInt8], metadata: ObjectMetadata) throws {
        try self.init(accountKey: accountKey, context: context, metadata: metadata, flags: [])
    }

    init(accountKey: AccountKey, context: [UInt8], metadata: ObjectMetadata, flags: ObjectHeader.Flags,
         segmentSize: Int = ObjectHeader.defaultSegmentSize) throws {
        let header = try ObjectHeader.fresh(for: accountKey, flags: flags, segmentSize: segmentSize)
        cipher = try SegmentCipher(header: header, accountKey: accountKey, context: context, customerKey: accountKey.customerKey)
        self.metadata = metadata
        provisionalHeader = try cipher.fixedHeader + cipher.sealMetadata(metadata)
        pending = .allocate(byteCount: segmentSize, alignment: 64)
        sealedBuffer = .allocate(byteCount: segmentSize + cipher.overhead, alignment: 64)
    }

    deinit {
        pending.initializeMemory(as: UInt8.self, repeating: 0)
        pending.deallocate()
        sealedBuffer.deallocate()
    }

    public var headerSize: Int { provisionalHeader.count }
    /// Stored size of the data region for `length` bytes of content (segments
    /// carry one tag per layer: 16 bytes, or 32 with the infrastructure layer).
    public func sealedDataSize(length: UInt64) -> UInt64 {
        SegmentLayout.sealedSize(length: length, segmentSize: cipher.segmentSize, overhead: cipher.overhead)
    }
    public var bytesIn: UInt64 { length }

    /// Encrypts `bytes`, passing each sealed segment to `sink` as soon as it
    /// is known not to be the last one. Full segments are sealed straight
    /// from `bytes`; only a tail is copied.
    public func append(_ bytes: UnsafeRawBufferPointer, to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        precondition(!finished, "append after finish")
        guard bytes.count > 0 else { return }
        let size = cipher.segmentSize
        var offset = 0
        length += UInt64(bytes.count)
        if pendingCount > 0 || bytes.count <= size {
            let n = min(size - pendingCount, bytes.count)
            UnsafeMutableRawBufferPointer(rebasing: pending[pendingCount..<(pendingCount + n)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[0..<n]))
            pendingCount += n
            offset = n
            if offset == bytes.count { return }
            // More data follows, so the pending full segment is not the last.
            try emit(UnsafeRawBufferPointer(pending), last: false, to: sink)
            pendingCount = 0
        }
        while bytes.count - offset > size {
            try emit(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + size)]), last: false, to: sink)
            offset += size
        }
        let rest = bytes.count - offset
        UnsafeMutableRawBufferPointer(rebasing: pending[0..<rest]).copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset...]))
        pendingCount = rest
    }

    public func append(_ bytes: [UInt8], to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        try bytes.withUnsafeBytes { try append($0, to: sink) }
    }

    /// Seals the last segment and returns the final header and metadata.
    /// `contentHash` is recorded as given (the caller verified it).
    public func finish(contentHash: [UInt8]? = nil, to sink: (UnsafeRawBufferPointer) throws -> Void) throws -> (header: [UInt8], metadata: ObjectMetadata) {
        precondition(!finished, "finish called twice")
        finished = true
        try emit(UnsafeRawBufferPointer(rebasing: pending[0..<pendingCount]), last: true, to: sink)
        pendingCount = 0
        if !cipher.header.flags.contains(.manifest) { metadata.length = length }
        if let contentHash { metadata.contentHash = contentHash }
        let header = try cipher.fixedHeader + cipher.sealMetadata(metadata)
        precondition(header.count == provisionalHeader.count, "metadata encoding size changed")
        return (header, metadata)
    }

    private func emit(_ plain: UnsafeRawBufferPointer, last: Bool, to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard index < UInt32.max else { throw StorageError(.invalidArgument, "object exceeds 2^32 segments") }
        let out = UnsafeMutableRawBufferPointer(rebasing: sealedBuffer[0..<(plain.count + cipher.overhead)])
        try cipher.seal(index: index, last: last, plain, into: out)
        index += 1
        try sink(UnsafeRawBufferPointer(out))
    }

    /// Seals all of `data` as the whole object into `out` (at least
    /// `headerSize + SegmentLayout.sealedSize(...)` bytes): the final header
    /// first, then every segment sealed in place from `data`. For writers that
    /// hold the whole content (no `append` before; nothing after). Returns the
    /// bytes written and the metadata recorded. `contentHash` as in `finish`.
    func sealWhole(_ data: UnsafeRawBufferPointer, contentHash: [UInt8]? = nil,
                   into out: UnsafeMutableRawBufferPointer) throws -> (count: Int, metadata: ObjectMetadata) {
        precondition(!finished && length == 0 && pendingCount == 0, "sealWhole after append or finish")
        finished = true
        if !cipher.header.flags.contains(.manifest) { metadata.length = UInt64(data.count) }
        if let contentHash { metadata.contentHash = contentHash }
        let head = try cipher.fixedHeader + cipher.sealMetadata(metadata)
        let size = cipher.segmentSize
        let total = head.count + Int(SegmentLayout.sealedSize(length: UInt64(data.count), segmentSize: size, overhead: cipher.overhead))
        guard out.count >= total else { throw StorageError(.invalidArgument, "output buffer holds \(out.count) bytes, sealed object needs \(total)") }
        head.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: out[0..<head.count]).copyMemory(from: $0) }
        let count = Int(SegmentLayout.segmentCount(length: UInt64(data.count), segmentSize: size))
        var writeAt = head.count
        for i in 0..<count {
            let lo = i * size, hi = min(lo + size, data.count)
            let plain = UnsafeRawBufferPointer(rebasing: data[lo..<hi])
            try cipher.seal(index: UInt32(i), last: i == count - 1, plain,
                            into: UnsafeMutableRawBufferPointer(rebasing: out[writeAt..<(writeAt + plain.count + cipher.overhead)]))
            writeAt += plain.count + cipher.overhead
        }
        return (total, metadata)
    }

    /// Seals a whole in-memory object into `output` (see `ObjectFormat.sealedSize`),
    /// segments sealed directly from `data` into place; returns bytes written.
    static func sealInMemory(_ data: UnsafeRawBufferPointer, accountKey: AccountKey, context: [UInt8],
                             metadata: ObjectMetadata, flags: ObjectHeader.Flags = [],
                             into out: UnsafeMutableRawBufferPointer) throws -> Int {
        try ObjectSealer(accountKey: accountKey, context: context, metadata: metadata, flags: flags).sealWhole(data, into: out).count
    }
}
