import AtRestCrypto

/// One object (or staged block) being written: plaintext goes in through
/// `append` as it arrives, sealed segments go straight to a temp file, and
/// `finish` makes it durable and visible atomically. Memory is bounded by
/// two segments whatever the object's size.
public final class ObjectUpload {
    private let file: AtomicFile
    private let sealer: ObjectSealer
    private let targetName: String
    private let expectedHash: [UInt8]?
    private let hasher: SHA256?
    private let afterCommit: () throws -> Void
    private var finished = false

    init(file: AtomicFile, targetName: String, accountKey: AccountKey, identity: ObjectIdentity,
         metadata: ObjectMetadata, expectedHash: [UInt8]?, afterCommit: @escaping () throws -> Void = {}) throws {
        if let expectedHash, expectedHash.count != SHA256.digestSize {
            throw StorageError(.invalidArgument, "content hash must be a 32-byte SHA-256, got \(expectedHash.count) bytes")
        }
        sealer = try ObjectSealer(accountKey: accountKey, context: identity.context, metadata: metadata)
        self.file = file
        self.targetName = targetName
        self.expectedHash = expectedHash
        hasher = expectedHash == nil ? nil : try SHA256()
        self.afterCommit = afterCommit
        try sealer.provisionalHeader.withUnsafeBytes { try file.append($0) }
    }

    /// Bytes hashed and sealed per step when a content hash is checked: the
    /// hash and the cipher read the same chunk while it is still in cache
    /// (one pass over memory instead of two for a multi-MiB block).
    static let fusedChunk = 1 << 20

    public func append(_ bytes: UnsafeRawBufferPointer) throws {
        precondition(!finished, "append after finish")
        do {
            guard let hasher else { return try sealer.append(bytes) { try file.append($0) } }
            var offset = 0
            while offset < bytes.count {
                let chunk = UnsafeRawBufferPointer(rebasing: bytes[offset..<min(offset + Self.fusedChunk, bytes.count)])
                try hasher.update(chunk)
                try sealer.append(chunk) { try file.append($0) }
                offset += chunk.count
            }
        } catch {
            abort()
            throw error
        }
    }

    public func append(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try append($0) } }

    /// Seals the tail, checks the client's content hash if one was sent, and
    /// atomically publishes the object. Nothing becomes visible on failure.
    @discardableResult
    public func finish() throws -> ObjectMetadata {
        precondition(!finished, "finish called twice")
        finished = true
        return try publishing {
            try checkContentHash()
            let (header, metadata) = try sealer.finish(contentHash: expectedHash) { try file.append($0) }
            try file.overwrite(at: 0, header)
            return metadata
        }
    }

    /// Throws (so nothing is published) unless the content hashed so far
    /// matches the client's hash, when one was sent.
    private func checkContentHash() throws {
        guard let expectedHash, let hasher else { return }
        guard ConstantTime.equals(try hasher.finalize(), expectedHash) else {
            throw StorageError(.contentHashMismatch, "the SHA-256 sent by the client does not match the data received; nothing was stored")
        }
    }

    /// Runs `body` (the last writes), then makes the file durable under its
    /// name and runs `afterCommit`; on any failure the temp file is dropped.
    private func publishing(_ body: () throws -> ObjectMetadata) throws -> ObjectMetadata {
        do {
            let metadata = try body()
            try file.commit(as: targetName)
            try afterCommit()
            return metadata
        } catch {
            file.abort()
            throw error
        }
    }

    /// Appends `parts` in order and finishes; on any failure the temp file
    /// is dropped and nothing is published.
    public func write(_ parts: [[UInt8]]) throws -> ObjectMetadata {
        try write { append in for part in parts { try part.withUnsafeBytes { try append($0) } } }
    }

    /// Lets `feed` append (buffers it does not have to copy: a transport's
    /// received frames), then finishes; on any failure the temp file is
    /// dropped and nothing is published.
    public func write(_ feed: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws -> ObjectMetadata {
        do {
            try feed { try append($0) }
            return try finish()
        } catch {
            abort()
            throw error
        }
    }

    /// Contents at least this large are sealed into one buffer and written
    /// around the page cache (`AtomicFile.writeWhole`).
    public static let wholeWriteThreshold = 1 << 20

    /// Writes `data` as the whole content and finishes, like `write(feed:)`
    /// feeding it in one piece. From `wholeWriteThreshold` bytes on, the
    /// client's hash (if any) is checked first, then everything is sealed into
    /// one aligned buffer and written with `O_DIRECT` in one call; nothing is
    /// published when the hash differs.
    public func write(whole data: UnsafeRawBufferPointer) throws -> ObjectMetadata {
        guard data.count >= Self.wholeWriteThreshold else { return try write { try $0(data) } }
        precondition(!finished, "write after finish")
        finished = true
        return try publishing {
            try hasher?.update(data)
            try checkContentHash()
            let size = sealer.headerSize + Int(SegmentLayout.sealedSize(length: UInt64(data.count), segmentSize: ObjectHeader.defaultSegmentSize))
            let alignment = AtomicFile.directAlignment
            let capacity = (size + alignment - 1) / alignment * alignment
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: alignment)
            defer { buffer.deallocate() }
            let (count, metadata) = try sealer.sealWhole(data, contentHash: expectedHash, into: buffer)
            // The padding up to the alignment reaches the disk before the truncation: zeros, never stale heap bytes.
            UnsafeMutableRawBufferPointer(rebasing: buffer[count...]).initializeMemory(as: UInt8.self, repeating: 0)
            try file.writeWhole(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            return metadata
        }
    }

    /// Drops everything written so far.
    public func abort() {
        finished = true
        file.abort()
    }
}
