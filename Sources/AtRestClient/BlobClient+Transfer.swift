import AtRestCrypto
import AtRestMessaging
import AtRestWire
import Glibc

extension BlobClient {
    /// Uploads `data` of any size: one `Put` up to the threshold, else staged blocks.
    public func upload(_ container: String, _ name: String, data: [UInt8], contentType: String = "",
                       metadata: [String: String] = [:], progress: BlobProgress? = nil) async throws -> BlobProperties {
        let total = UInt64(data.count)
        try checkCustomerKeySize(total)
        if data.count <= options.singlePutThreshold {
            let reply = try await put(container, name, data: data, contentType: contentType, metadata: metadata)
            progress?(total, total)
            return reply
        }
        // Each block is sent from `data` itself (a part over a range of it, not a copy).
        return try await uploadBlocks(container, name, total: total, contentType: contentType, metadata: metadata, progress: progress) {
            offset, count in PayloadPart(data, range: Int(offset)..<Int(offset) + count)
        }
    }

    /// Uploads a local file (read off the cooperative pool).
    public func upload(_ container: String, _ name: String, file path: String, contentType: String = "",
                       metadata: [String: String] = [:], progress: BlobProgress? = nil) async throws -> BlobProperties {
        let file = try BlobFile.openForReading(path)
        defer { file.close() }
        let total = try file.size
        try checkCustomerKeySize(total)
        if total <= UInt64(options.singlePutThreshold) {
            let data = try await file.read(at: 0, count: Int(total))
            let reply = try await put(container, name, data: data, contentType: contentType, metadata: metadata)
            progress?(total, total)
            return reply
        }
        return try await uploadBlocks(container, name, total: total, contentType: contentType, metadata: metadata, progress: progress) {
            offset, count in PayloadPart(try await file.read(at: offset, count: count))
        }
    }

    /// Staged blocks take no customer-provided key: with one, a blob must fit one `Put`.
    func checkCustomerKeySize(_ total: UInt64) throws {
        guard encryptionKey != nil, total > UInt64(options.singlePutThreshold) else { return }
        throw RPCStatus(.invalidArgument, "a blob written with a customer-provided key must fit one Put (at most \(options.singlePutThreshold) bytes); this one has \(total)")
    }

    /// Stages blocks with at most `parallelism` in flight (each one may go to
    /// a different worker), then commits the list. With `.perMessage` or
    /// `.wholeContent` each block carries its own SHA-256 (computed in its
    /// task, in parallel), checked by the worker and again against the reply,
    /// and the commit's content hash must be the SHA-256 of those block
    /// hashes in order; `.wholeContent` also feeds every block, in order, to
    /// the whole-content hash stored as `content-sha256`.
    func uploadBlocks(_ container: String, _ name: String, total: UInt64, contentType: String, metadata: [String: String],
                      progress: BlobProgress?, read: @escaping @Sendable (UInt64, Int) async throws -> PayloadPart) async throws
        -> BlobProperties
    {
        let ranges = Self.blockRanges(total: total, blockSize: UInt64(options.blockSize))
        let count = ranges.count
        let uploadID = try SHA256Digest.random(8)
        let ids = (0..<count).map { index in uploadID + withUnsafeBytes(of: UInt32(index).bigEndian, Array.init) }
        let checksum = options.checksum
        let whole = checksum == .wholeContent ? try SHA256Digest.Running() : nil
        var blockHashes = [[UInt8]](repeating: [], count: count)
        var done: UInt64 = 0
        try await withThrowingTaskGroup(of: (Int, UInt64, [UInt8]).self) { group in
            func collect(_ finished: (index: Int, length: UInt64, hash: [UInt8])) {
                blockHashes[finished.index] = finished.hash
                done += finished.length
                progress?(done, total)
            }
            var inFlight = 0
            for index in 0..<count {
                if inFlight >= options.parallelism, let finished = try await group.next() {
                    inFlight -= 1
                    collect(finished)
                }
                let block = try await read(ranges[index].lowerBound, Int(ranges[index].count))
                group.addTask { [self] in
                    // The block's own hash runs here, on another core than the
                    // whole-content hash below (which must see blocks in order).
                    let blockHash = checksum == .none ? [] : try SHA256Digest.of(block)
                    var request = StageBlockRequest(container: container, name: name, blockID: ids[index], contentHash: blockHash)
                    request.scope = options.scope
                    let reply = try await call(BlobMethod.stageBlock, request, parts: [block],
                                               idempotent: true).message
                    guard reply.contentHash == blockHash, reply.length == UInt64(block.count) else {
                        throw RPCStatus(.dataLoss, "block \(index) of '\(name)' was stored with a different hash or length than sent")
                    }
                    return (index, reply.length, blockHash)
                }
                inFlight += 1
                try whole?.update(block)
            }
            for try await finished in group { collect(finished) }
        }
        var metadata = metadata
        if let whole { metadata[BlobTransferOptions.contentHashKey] = Hex.encode(try whole.finish()) }
        var commit = CommitBlocksRequest(container: container, name: name, blockIDs: ids, contentType: contentType, metadata: metadata)
        commit.scope = options.scope
        let reply = try await call(BlobMethod.commitBlocks, commit, idempotencyKey: try Self.randomKey()).message
        guard reply.length == total else {
            throw RPCStatus(.dataLoss, "the committed blob '\(name)' has \(reply.length) bytes, sent \(total)")
        }
        // The service records a block list's hash as SHA-256 over its blocks' hashes in order.
        if checksum != .none, reply.contentHash != (try SHA256Digest.of(blockHashes.flatMap { $0 })) {
            throw RPCStatus(.dataLoss, "the committed blob '\(name)' does not match the blocks sent (hash of block hashes differs)")
        }
        return reply
    }

    /// Where the blocks of an upload of `total` bytes start and end: the
    /// first is a quarter of `blockSize` (at least 64 KiB), the rest
    /// `blockSize`. A small first block reaches a worker (through the front
    /// door's two hops) and the disk sooner, so the disk starts writing while
    /// the following blocks are still on their way; with 4 MiB blocks a
    /// 64 MiB put spent ~8 ms before the first byte was sealed (A/B on disk:
    /// 698/704 vs 639/679 MiB/s; on tmpfs, where the disk does not wait,
    /// no difference).
    static func blockRanges(total: UInt64, blockSize: UInt64) -> [Range<UInt64>] {
        let first = max(min(blockSize, 64 << 10), blockSize / 4)
        var ranges: [Range<UInt64>] = []
        var offset: UInt64 = 0
        while offset < total {
            let size = min(ranges.isEmpty ? first : blockSize, total - offset)
            ranges.append(offset..<offset + size)
            offset += size
        }
        return ranges
    }

    /// Downloads a blob into memory (any size), checking `content-sha256` when present (see `downloadRanges`).
    public func download(_ container: String, _ name: String, progress: BlobProgress? = nil) async throws -> [UInt8] {
        let sink = MemorySink()
        _ = try await downloadRanges(container, name, progress: progress) { offset, total, part in sink.append(part, at: offset, of: total) }
        return sink.bytes
    }

    /// Downloads a blob into `buffer`, which must hold at least the blob's
    /// length (`properties.length` of the answer; nothing is written past
    /// it), each range copied once from the frame it arrived in to its
    /// place; checks `content-sha256` as `download` does. A buffer reused
    /// across downloads is already in memory, so the kernel neither faults
    /// nor zeroes its pages again (docs/DATA-PATH.md "Against the machine's
    /// limits": for 64 MiB that was most of the client's CPU). On failure
    /// the buffer holds part of the blob.
    public func download(_ container: String, _ name: String, into buffer: UnsafeMutableRawBufferPointer,
                         progress: BlobProgress? = nil) async throws -> BlobProperties {
        let target = DownloadTarget(buffer)
        return try await downloadRanges(container, name, progress: progress) { offset, total, part in
            guard total <= UInt64(target.buffer.count) else {
                throw RPCStatus(.outOfRange, "blob '\(name)' has \(total) bytes; the buffer holds \(target.buffer.count)")
            }
            try target.copy(part, at: offset)
        }
    }

    /// Downloads a blob to `path` (written to a temporary file beside it and
    /// renamed once the hash matches, so a failure leaves no partial file).
    public func download(_ container: String, _ name: String, toFile path: String, progress: BlobProgress? = nil) async throws
        -> BlobProperties
    {
        let temp = path + ".atrest-partial-\(getpid())"
        let file = try BlobFile.create(temp)
        do {
            let properties = try await downloadRanges(container, name, progress: progress) { offset, _, part in
                try await file.write(part, at: offset)
            }
            try await file.sync()
            file.close()
            guard rename(temp, path) == 0 else { throw RPCStatus(.internal, "cannot rename '\(temp)' to '\(path)'") }
            return properties
        } catch {
            file.close()
            unlink(temp)
            throw error
        }
    }

    /// Reads ranges of `rangeSize`, at most `parallelism` in flight, and hands
    /// them to `sink` (offset, blob length, bytes) in order, so the
    /// whole-content hash can run alongside. Fails with ABORTED when the blob
    /// is replaced mid-download, DATA_LOSS when the content does not match
    /// its `content-sha256` (checked when present, unless `checksum` is `.none`).
    func downloadRanges(_ container: String, _ name: String, progress: BlobProgress?,
                        sink: @escaping @Sendable (UInt64, UInt64, PayloadPart) async throws -> Void) async throws -> BlobProperties {
        let rangeSize = UInt64(options.rangeSize)
        let first = try await getParts(container, name, range: 0..<rangeSize)
        let firstData = Self.single(first.parts)
        let properties = first.properties
        let total = properties.length
        let expected = options.checksum == .none ? nil : properties.metadata[BlobTransferOptions.contentHashKey]
        let whole = expected == nil ? nil : try SHA256Digest.Running()
        try whole?.update(firstData)
        try await sink(0, total, firstData)
        guard UInt64(firstData.count) == min(rangeSize, total) else {
            throw RPCStatus(.dataLoss, "range 0 of '\(name)' came back with \(firstData.count) bytes")
        }
        var done = UInt64(firstData.count)
        progress?(done, total)
        let count = Int((total + rangeSize - 1) / rangeSize)
        if count > 1 {
            try await withThrowingTaskGroup(of: (Int, PayloadPart).self) { group in
                var next = 1
                var pending: [Int: PayloadPart] = [:]
                var written = 1
                func launch() {
                    let index = next
                    let range = UInt64(index) * rangeSize..<min(UInt64(index + 1) * rangeSize, total)
                    group.addTask { [self] in
                        let reply = try await getParts(container, name, range: range)
                        guard reply.properties.createdAtMs == properties.createdAtMs, reply.properties.length == total else {
                            throw RPCStatus(.aborted, "blob '\(name)' was replaced during the download; download it again")
                        }
                        let data = Self.single(reply.parts)
                        guard reply.offset == range.lowerBound, UInt64(data.count) == UInt64(range.count) else {
                            throw RPCStatus(.dataLoss, "range \(index) of '\(name)' came back wrong")
                        }
                        return (index, data)
                    }
                    next += 1
                }
                while next < count && next - written < options.parallelism { launch() }
                while written < count {
                    guard let (index, data) = try await group.next() else { break }
                    pending[index] = data
                    while let data = pending.removeValue(forKey: written) {
                        try whole?.update(data)
                        try await sink(UInt64(written) * rangeSize, total, data)
                        done += UInt64(data.count)
                        progress?(done, total)
                        written += 1
                    }
                    while next < count && next - written < options.parallelism { launch() }
                }
            }
        }
        if let expected, let whole, expected != Hex.encode(try whole.finish()) {
            throw RPCStatus(.dataLoss, "blob '\(name)' does not match its SHA-256 (\(expected)); the data is damaged")
        }
        return properties
    }
}

extension BlobClient {
    /// A reply's payload as one part (the frame itself in the usual case of one).
    static func single(_ parts: [PayloadPart]) -> PayloadPart {
        parts.count == 1 ? parts[0] : PayloadPart(parts.joined())
    }
}

/// Collects downloaded ranges in memory (they arrive in order), copying each
/// once from the frame it arrived in into a buffer of the blob's final size
/// (growing an array range by range copied it about twice more). The array
/// is new memory, so the kernel faults in and zeroes each of its pages: for
/// repeated large downloads `download(into:)` a reused buffer costs less.
final class MemorySink: @unchecked Sendable {
    private(set) var bytes: [UInt8] = []
    func append(_ part: PayloadPart, at offset: UInt64, of total: UInt64) {
        if bytes.isEmpty { bytes.reserveCapacity(Int(total)) }
        part.withUnsafeBytes { bytes.append(contentsOf: $0) }
    }
}

/// The caller's buffer of `download(into:)`.
struct DownloadTarget: @unchecked Sendable {  // written by one download task at a time
    let buffer: UnsafeMutableRawBufferPointer

    init(_ buffer: UnsafeMutableRawBufferPointer) { self.buffer = buffer }

    func copy(_ part: PayloadPart, at offset: UInt64) throws {
        guard offset <= UInt64(buffer.count), UInt64(part.count) <= UInt64(buffer.count) - offset else {
            throw RPCStatus(.outOfRange, "a range of \(part.count) bytes at \(offset) does not fit a buffer of \(buffer.count)")
        }
        guard part.count > 0 else { return }
        part.withUnsafeBytes { buffer.baseAddress!.advanced(by: Int(offset)).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }
}
