import AtRestMessaging
import AtRestWire

/// Typed calls to `atrest.v1.File/*` of one account, through the front
/// door (the account metadata and token as for blobs: `BlobClient.call`).
///
/// Paths are "/"-separated within the share (a leading "/" optional; "" and
/// "/" name the root). `writeFile` and `readFile` take any length and split
/// it into calls of at most `FileMethod.maxIO` (4 MiB); `writeFile(parts:)`
/// and `readFileParts` are one call each. Calls are safe to run
/// concurrently on one client. Reads, listings, properties and writes are
/// idempotent (a write sets bytes at an offset, so running it twice leaves
/// what running it once does) and are retried on UNAVAILABLE; creates,
/// deletes, renames, resizes and attribute changes are not.
public struct FileClient: Sendable {
    let calls: BlobClient
    public var account: String { calls.account }

    public init(_ base: ServiceClient, account: String) {
        calls = BlobClient(base, account: account)
    }

    // MARK: shares

    /// A new, empty share holding at most `quota` bytes of files (1 B to 5 PiB).
    @discardableResult
    public func createShare(_ share: String, quota: UInt64, metadata: [String: String] = [:]) async throws -> ShareProperties {
        try await call(FileMethod.createShare, CreateShareRequest(share: share, quota: quota, metadata: metadata)).message
    }

    /// Deletes the share with every directory and file in it.
    public func deleteShare(_ share: String) async throws {
        _ = try await call(FileMethod.deleteShare, ShareRequest(share: share))
    }

    /// One page of the account's shares by name.
    public func listShares(prefix: String = "", pageSize: UInt32 = 0, continuation: String = "") async throws -> ShareListResponse {
        try await call(FileMethod.listShares, ShareListRequest(prefix: prefix, pageSize: pageSize, continuation: continuation),
                             idempotent: true).message
    }

    /// Every share whose name starts with `prefix`, following continuations.
    public func listAllShares(prefix: String = "") async throws -> [ShareProperties] {
        var shares: [ShareProperties] = [], continuation = ""
        repeat {
            let page = try await listShares(prefix: prefix, continuation: continuation)
            shares += page.shares
            continuation = page.continuation
        } while !continuation.isEmpty
        return shares
    }

    /// Quota, usage (bytes, files, directories), creation time, metadata.
    public func shareProperties(_ share: String) async throws -> ShareProperties {
        try await call(FileMethod.getShareProperties, ShareRequest(share: share), idempotent: true).message
    }

    /// A new quota (1 B to 5 PiB; below the usage only stops growth).
    @discardableResult
    public func setShareQuota(_ share: String, quota: UInt64) async throws -> ShareProperties {
        try await call(FileMethod.setShareQuota, SetShareQuotaRequest(share: share, quota: quota)).message
    }

    /// Replaces the share's metadata.
    @discardableResult
    public func setShareMetadata(_ share: String, _ metadata: [String: String]) async throws -> ShareProperties {
        try await call(FileMethod.setShareMetadata, ShareRequest(share: share, metadata: metadata)).message
    }

    // MARK: directories

    /// A new directory in an existing one; `mode` 0: 0o755.
    @discardableResult
    public func createDirectory(_ share: String, _ path: String, mode: UInt32 = 0, metadata: [String: String] = [:]) async throws
        -> FileProperties {
        try await call(FileMethod.createDirectory, CreateFileRequest(share: share, path: path, mode: mode, metadata: metadata)).message
    }

    /// Deletes an empty directory (FAILED_PRECONDITION otherwise), or with
    /// `recursive` everything below it first.
    public func deleteDirectory(_ share: String, _ path: String, recursive: Bool = false) async throws {
        _ = try await call(FileMethod.deleteDirectory, DeleteDirectoryRequest(share: share, path: path, recursive: recursive))
    }

    /// One page of a directory's entries (stored order: stable, not alphabetical).
    public func listDirectory(_ share: String, _ path: String, pageSize: UInt32 = 0, continuation: String = "") async throws
        -> ListDirectoryResponse {
        try await call(FileMethod.listDirectory,
                             ListDirectoryRequest(share: share, path: path, pageSize: pageSize, continuation: continuation),
                             idempotent: true).message
    }

    /// Every entry of a directory, following continuations.
    public func listAll(_ share: String, _ path: String) async throws -> [FileProperties] {
        var entries: [FileProperties] = [], continuation = ""
        repeat {
            let page = try await listDirectory(share, path, continuation: continuation)
            entries += page.entries
            continuation = page.continuation
        } while !continuation.isEmpty
        return entries
    }

    // MARK: files

    /// A new file of `size` bytes (reads as zeros; counts against the
    /// quota); `mode` 0: 0o644; `mtimeMs` nil: modified now.
    @discardableResult
    public func createFile(_ share: String, _ path: String, size: UInt64 = 0, mode: UInt32 = 0, metadata: [String: String] = [:],
                           mtimeMs: Int64? = nil) async throws -> FileProperties {
        try await call(FileMethod.createFile, CreateFileRequest(share: share, path: path, size: size, mode: mode, metadata: metadata,
                                                                mtimeMs: mtimeMs)).message
    }

    /// A new file holding `data` (1 B to 4 MiB) in one call: atomic when it
    /// fits in the inode (8 KiB, docs/FORMAT.md "Files"), else created and
    /// then written by the worker.
    public func createFile(_ share: String, _ path: String, data: [UInt8], mode: UInt32 = 0, metadata: [String: String] = [:],
                           mtimeMs: Int64? = nil) async throws -> FileProperties {
        try Self.checkIO(data.count, "a file created with data")
        return try await call(FileMethod.createFile, CreateFileRequest(share: share, path: path, mode: mode, metadata: metadata, mtimeMs: mtimeMs),
                              parts: [PayloadPart(data, range: 0 ..< data.count)]).message
    }

    /// Writes `data` (any length ≥ 1) at `offset`, in calls of at most
    /// 4 MiB one after another; the file grows to cover it. Durable when
    /// this returns; atomic per call, not per `writeFile`.
    public func writeFile(_ share: String, _ path: String, offset: UInt64, data: [UInt8]) async throws {
        guard !data.isEmpty else { throw RPCStatus(.invalidArgument, "a file write moves at least 1 byte") }
        var start = 0
        while start < data.count {
            let end = min(data.count, start + FileMethod.maxIO)
            try await writeFile(share, path, offset: offset + UInt64(start), parts: [PayloadPart(data, range: start..<end)])
            start = end
        }
    }

    /// One WriteFile call from payload parts (sent as they are, no copy);
    /// their bytes together (1 B to 4 MiB) are the write.
    public func writeFile(_ share: String, _ path: String, offset: UInt64, parts: [PayloadPart]) async throws {
        try Self.checkIO(parts.reduce(0) { $0 + $1.count }, "a file write")
        _ = try await call(FileMethod.writeFile, WriteFileRequest(share: share, path: path, offset: offset), parts: parts,
                                 idempotent: true)
    }

    /// Up to `length` bytes (any length ≥ 1) at `offset`, in calls of at
    /// most 4 MiB; fewer when the file ends first (none at or past its end).
    /// Holes read as zeros.
    public func readFile(_ share: String, _ path: String, offset: UInt64, length: Int) async throws -> [UInt8] {
        guard length >= 1 else { throw RPCStatus(.invalidArgument, "a file read moves at least 1 byte, not \(length)") }
        var data: [UInt8] = []
        while data.count < length {
            let count = min(FileMethod.maxIO, length - data.count)
            let parts = try await readFileParts(share, path, offset: offset + UInt64(data.count), length: count)
            for part in parts { data += part.bytes }
            if parts.reduce(0, { $0 + $1.count }) < count { break }
        }
        return data
    }

    /// One ReadFile call (1 B to 4 MiB asked) as the frames the bytes
    /// arrived in (no copy); fewer bytes when the file ends first.
    public func readFileParts(_ share: String, _ path: String, offset: UInt64, length: Int) async throws -> [PayloadPart] {
        try Self.checkIO(length, "a file read")
        let reply = try await call(FileMethod.readFile, ReadFileRequest(share: share, path: path, offset: offset, length: UInt64(length)),
                                         idempotent: true)
        let received = reply.parts.reduce(0) { $0 + $1.count }
        guard received <= length, reply.message.length == UInt64(received) else {
            throw RPCStatus(.dataLoss, "asked '\(path)' for \(length) bytes at \(offset); the reply announced \(reply.message.length) and held \(received)")
        }
        return reply.parts
    }

    /// Truncates or extends (with zeros) the file to `size` bytes.
    @discardableResult
    public func resizeFile(_ share: String, _ path: String, size: UInt64) async throws -> FileProperties {
        try await call(FileMethod.resizeFile, ResizeFileRequest(share: share, path: path, size: size)).message
    }

    /// Stamps the file's mtime (every write is durable when it returns already).
    @discardableResult
    public func flushFile(_ share: String, _ path: String) async throws -> FileProperties {
        try await call(FileMethod.flushFile, FileRequest(share: share, path: path)).message
    }

    /// Deletes a file (FAILED_PRECONDITION for a directory: `deleteDirectory`).
    public func deleteFile(_ share: String, _ path: String) async throws {
        _ = try await call(FileMethod.deleteFile, FileRequest(share: share, path: path))
    }

    // MARK: files and directories

    /// Kind, size, mode, times, metadata of a file or directory ("" or "/": the root).
    public func properties(_ share: String, _ path: String) async throws -> FileProperties {
        try await call(FileMethod.getFileProperties, FileRequest(share: share, path: path), idempotent: true).message
    }

    /// Replaces the metadata of a file or directory.
    @discardableResult
    public func setMetadata(_ share: String, _ path: String, _ metadata: [String: String]) async throws -> FileProperties {
        try await call(FileMethod.setFileMetadata, FileRequest(share: share, path: path, metadata: metadata)).message
    }

    /// Sets the permission bits (0 to 0o7777) of a file or directory.
    @discardableResult
    public func setMode(_ share: String, _ path: String, mode: UInt32) async throws -> FileProperties {
        try await call(FileMethod.setFileMode, SetFileModeRequest(share: share, path: path, mode: mode)).message
    }

    /// Sets the mtime (ms since the Unix epoch) of a file or directory.
    @discardableResult
    public func setTimes(_ share: String, _ path: String, mtimeMs: Int64) async throws -> FileProperties {
        try await call(FileMethod.setFileTimes, SetFileTimesRequest(share: share, path: path, mtimeMs: mtimeMs)).message
    }

    /// Moves `from` to `to` within the share, atomically (a directory with
    /// its subtree). `replace`: replace a file (or an empty directory) at
    /// `to` as POSIX rename does; false: ALREADY_EXISTS when `to` exists.
    public func rename(_ share: String, from: String, to: String, replace: Bool = true) async throws {
        _ = try await call(FileMethod.rename, RenameRequest(share: share, from: from, to: to, replace: replace))
    }

    /// Swaps `first` and `second` within the share atomically (RENAME_EXCHANGE:
    /// both must exist; a directory never into its own subtree).
    public func exchange(_ share: String, _ first: String, _ second: String) async throws {
        _ = try await call(FileMethod.rename, RenameRequest(share: share, from: first, to: second, replace: false, exchange: true))
    }

    /// Every file call: `BlobClient.call` after refusing a request with a
    /// NUL in any string. protobuf-c carries strings as C strings, so a NUL
    /// would cut a path short on the way out ("a.txt\0x" would reach the
    /// service as "a.txt"); refused here, before anything is sent.
    func call<Request: WireMessage, Reply: WireMessage>(
        _ method: RPCMethod<Request, Reply>, _ request: Request, parts: [PayloadPart] = [], idempotent: Bool = false
    ) async throws -> RPCReply<Reply> {
        guard !Self.hasNul(request.wire) else {
            throw RPCStatus(.invalidArgument, "a path, name or metadata value cannot contain NUL")
        }
        return try await calls.call(method, request, parts: parts, idempotent: idempotent)
    }

    static func hasNul(_ fields: WireFields) -> Bool { fields.values.values.contains(where: hasNul) }

    static func hasNul(_ value: WireValue) -> Bool {
        switch value {
        case .string(let text): text.utf8.contains(0)
        case .message(let fields): hasNul(fields)
        case .list(let items): items.contains(where: hasNul)
        default: false
        }
    }

    static func checkIO(_ length: Int, _ what: String) throws(RPCStatus) {
        guard (1...FileMethod.maxIO).contains(length) else {
            throw RPCStatus(.invalidArgument, "\(what) moves 1 byte to 4 MiB (\(FileMethod.maxIO)) per call, not \(length): split it")
        }
    }
}
