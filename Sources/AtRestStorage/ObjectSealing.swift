import AtRestCrypto

/// Seals a whole object in memory into one `AlignedBuffer`, before any byte
/// goes to a backend: a content hash that does not match, or a caller that
/// feeds more or fewer bytes than it declared, fails here and nothing is
/// written anywhere. The buffer is the sealed object exactly as stored
/// (docs/FORMAT.md), handed to `BackendUpload.append(_: AlignedBuffer)` in
/// one call.
///
/// Memory is the sealed object (as for the local store's whole writes
/// before the backend interface); the worker holds the request's plaintext
/// frames anyway, and both are bounded by the messaging payload limit.
enum ObjectSealing {
    /// Bytes hashed and sealed per step when a content hash is checked: the
    /// hash and the cipher read the same chunk while it is still in cache.
    static let fusedChunk = 1 << 20

    /// Seals `length` bytes that `feed` passes in pieces (e.g. a request's
    /// received frames, without copying them first). A feed that passes all
    /// of it in one piece (the usual case) is sealed in place (`seal(whole:)`).
    static func seal(metadata: ObjectMetadata, identity: ObjectIdentity, flags: ObjectHeader.Flags = [], accountKey: AccountKey,
                     expectedHash: [UInt8]?, length: Int,
                     feed: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws -> (buffer: AlignedBuffer, metadata: ObjectMetadata) {
        try checkHashSize(expectedHash)
        var whole: (buffer: AlignedBuffer, metadata: ObjectMetadata)?
        var stream: Stream?
        try feed { piece in
            if whole == nil, stream == nil, piece.count == length {
                whole = try seal(whole: piece, metadata: metadata, identity: identity, flags: flags, accountKey: accountKey, expectedHash: expectedHash)
                return
            }
            guard whole == nil else { throw StorageError(.invalidArgument, "more than the declared \(length) bytes were written") }
            if stream == nil {
                stream = try Stream(metadata: metadata, identity: identity, flags: flags, accountKey: accountKey, expectedHash: expectedHash, length: length)
            }
            try stream?.append(piece)
        }
        if let whole { return whole }
        let sealing = try stream ?? Stream(metadata: metadata, identity: identity, flags: flags, accountKey: accountKey,
                                           expectedHash: expectedHash, length: length)
        return try sealing.finish()
    }

    /// Sealing of pieces into one buffer: each segment sealed as soon as it
    /// is complete and copied to its place.
    private final class Stream {
        let sealer: ObjectSealer
        let buffer: AlignedBuffer
        let length: Int
        let expectedHash: [UInt8]?
        let hasher: SHA256?
        var offset: Int

        init(metadata: ObjectMetadata, identity: ObjectIdentity, flags: ObjectHeader.Flags, accountKey: AccountKey,
             expectedHash: [UInt8]?, length: Int) throws {
            sealer = try ObjectSealer(accountKey: accountKey, context: identity.context, metadata: metadata, flags: flags)
            buffer = AlignedBuffer(overwrittenCount: sealer.headerSize + Int(sealer.sealedDataSize(length: UInt64(length))))
            self.length = length
            self.expectedHash = expectedHash
            hasher = expectedHash == nil ? nil : try SHA256()
            offset = sealer.headerSize
        }

        private func emit(_ sealed: UnsafeRawBufferPointer) throws {
            guard offset + sealed.count <= buffer.count else {
                throw StorageError(.invalidArgument, "more than the declared \(length) bytes were written")
            }
            UnsafeMutableRawBufferPointer(rebasing: buffer.mutableBytes[offset..<(offset + sealed.count)]).copyMemory(from: sealed)
            offset += sealed.count
        }

        func append(_ piece: UnsafeRawBufferPointer) throws {
            guard let hasher else { return try sealer.append(piece, to: emit) }
            var at = 0
            while at < piece.count {
                let chunk = UnsafeRawBufferPointer(rebasing: piece[at..<min(at + fusedChunk, piece.count)])
                try hasher.update(chunk)
                try sealer.append(chunk, to: emit)
                at += chunk.count
            }
        }

        func finish() throws -> (buffer: AlignedBuffer, metadata: ObjectMetadata) {
            guard sealer.bytesIn == UInt64(length) else {
                throw StorageError(.invalidArgument, "\(sealer.bytesIn) bytes were written where \(length) were declared")
            }
            if let expectedHash, let hasher { try checkHash(try hasher.finalize(), expectedHash) }
            let (header, metadata) = try sealer.finish(contentHash: expectedHash, to: emit)
            header.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: buffer.mutableBytes[0..<header.count]).copyMemory(from: $0) }
            precondition(offset == buffer.count, "sealed size differs from the computed size")
            return (buffer, metadata)
        }
    }

    /// Seals `data` held in one piece: every segment sealed in place, no copy.
    static func seal(whole data: UnsafeRawBufferPointer, metadata: ObjectMetadata, identity: ObjectIdentity,
                     flags: ObjectHeader.Flags = [], accountKey: AccountKey, expectedHash: [UInt8]?,
                     segmentSize: Int = ObjectHeader.defaultSegmentSize) throws -> (buffer: AlignedBuffer, metadata: ObjectMetadata) {
        try checkHashSize(expectedHash)
        if let expectedHash {
            let hasher = try SHA256()
            try hasher.update(data)
            try checkHash(try hasher.finalize(), expectedHash)
        }
        let sealer = try ObjectSealer(accountKey: accountKey, context: identity.context, metadata: metadata, flags: flags, segmentSize: segmentSize)
        let total = sealer.headerSize + Int(sealer.sealedDataSize(length: UInt64(data.count)))
        let buffer = AlignedBuffer(overwrittenCount: total)
        let (count, sealedMetadata) = try sealer.sealWhole(data, contentHash: expectedHash, into: buffer.mutableBytes)
        precondition(count == total, "sealed size differs from the computed size")
        return (buffer, sealedMetadata)
    }

    private static func checkHashSize(_ expectedHash: [UInt8]?) throws {
        if let expectedHash, expectedHash.count != SHA256.digestSize {
            throw StorageError(.invalidArgument, "content hash must be a 32-byte SHA-256, got \(expectedHash.count) bytes")
        }
    }

    private static func checkHash(_ actual: [UInt8], _ expected: [UInt8]) throws {
        guard ConstantTime.equals(actual, expected) else {
            throw StorageError(.contentHashMismatch, "the SHA-256 sent by the client does not match the data received; nothing was stored")
        }
    }
}
