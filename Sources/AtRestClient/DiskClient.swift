import AtRestMessaging
import AtRestWire

/// Typed calls to `atrest.v1.Disk/*` of one account, through the front
/// door (the account metadata and token as for blobs: `BlobClient.call`).
///
/// One call moves at most `DiskMethod.maxIO` (4 MiB): `putPages` and
/// `getPages` refuse more (INVALID_ARGUMENT, nothing sent), callers split
/// larger transfers. Calls are safe to run concurrently on one client (as
/// many in flight as the caller starts). Reads, page writes and page
/// clears are idempotent (a page write sets pages to the bytes sent, so
/// running it twice leaves what running it once does) and are retried on
/// UNAVAILABLE; creates, deletes, resizes and metadata changes are not.
public struct DiskClient: Sendable {
    let calls: BlobClient
    public var account: String { calls.account }

    public init(_ base: ServiceClient, account: String) {
        calls = BlobClient(base, account: account)
    }

    // MARK: disks

    /// A new disk of `size` bytes (a multiple of 512, 512 B to 4 TiB) that reads as zeros.
    @discardableResult
    public func create(_ disk: String, size: UInt64, metadata: [String: String] = [:]) async throws -> DiskProperties {
        try await calls.call(DiskMethod.createDisk, CreateDiskRequest(disk: disk, size: size, metadata: metadata)).message
    }

    /// Deletes the disk and all its pages.
    public func delete(_ disk: String) async throws {
        _ = try await calls.call(DiskMethod.deleteDisk, DiskRequest(disk: disk))
    }

    /// One page of the account's disks by name.
    public func list(prefix: String = "", pageSize: UInt32 = 0, continuation: String = "") async throws -> DiskListResponse {
        try await calls.call(DiskMethod.listDisks, DiskListRequest(prefix: prefix, pageSize: pageSize, continuation: continuation),
                             idempotent: true).message
    }

    /// Every disk whose name starts with `prefix`, following continuations.
    public func listAll(prefix: String = "") async throws -> [DiskProperties] {
        var disks: [DiskProperties] = [], continuation = ""
        repeat {
            let page = try await list(prefix: prefix, continuation: continuation)
            disks += page.disks
            continuation = page.continuation
        } while !continuation.isEmpty
        return disks
    }

    public func properties(_ disk: String) async throws -> DiskProperties {
        try await calls.call(DiskMethod.getDiskProperties, DiskRequest(disk: disk), idempotent: true).message
    }

    /// Replaces the disk's metadata.
    @discardableResult
    public func setMetadata(_ disk: String, _ metadata: [String: String]) async throws -> DiskProperties {
        try await calls.call(DiskMethod.setDiskMetadata, DiskRequest(disk: disk, metadata: metadata)).message
    }

    /// Grows (new bytes read as zeros) or shrinks (the pages beyond are dropped) the disk.
    @discardableResult
    public func resize(_ disk: String, size: UInt64) async throws -> DiskProperties {
        try await calls.call(DiskMethod.resizeDisk, ResizeDiskRequest(disk: disk, size: size)).message
    }

    // MARK: pages

    /// Writes `data` (a multiple of 512 bytes, 512 B to 4 MiB) at `offset`
    /// (a multiple of 512); durable when this returns. Atomic per 512-byte
    /// page, not per call.
    public func putPages(_ disk: String, offset: UInt64, data: [UInt8]) async throws {
        try await putPages(disk, offset: offset, parts: [PayloadPart(data)])
    }

    /// `putPages` from payload parts (sent as they are, no copy: slices of a
    /// larger buffer, say); their bytes together are the write.
    public func putPages(_ disk: String, offset: UInt64, parts: [PayloadPart]) async throws {
        try Self.checkIO(parts.reduce(0) { $0 + $1.count }, "a page write")
        _ = try await calls.call(DiskMethod.putPages, PutPagesRequest(disk: disk, offset: offset), parts: parts, idempotent: true)
    }

    /// Several page writes in one call (PutPageRanges): each as `putPages`'s,
    /// no two overlapping, 1 to `DiskMethod.maxRanges` of them, 512 B to
    /// 4 MiB in all (each write's bytes go as a payload part of its own,
    /// not copied). Durable when this returns; atomic per 512-byte page.
    /// A service without the method answers UNIMPLEMENTED.
    public func putPageRanges(_ disk: String, _ writes: [(offset: UInt64, data: [UInt8])]) async throws {
        try Self.checkIO(writes.reduce(0) { $0 + $1.data.count }, "a page write")
        let request = PutPageRangesRequest(disk: disk, ranges: writes.map { DiskPageRange(offset: $0.offset, length: UInt64($0.data.count)) })
        _ = try await calls.call(DiskMethod.putPageRanges, request, parts: writes.map { PayloadPart($0.data) }, idempotent: true)
    }

    /// Makes [offset, offset + length) (multiples of 512) read as zeros and
    /// releases its storage; durable when this returns. Any length within the disk.
    public func clearPages(_ disk: String, offset: UInt64, length: UInt64) async throws {
        _ = try await calls.call(DiskMethod.clearPages, DiskRangeRequest(disk: disk, offset: offset, length: length), idempotent: true)
    }

    /// `length` bytes (1 B to 4 MiB, any offset within the disk) at
    /// `offset`; unwritten and cleared bytes read as zeros.
    public func getPages(_ disk: String, offset: UInt64, length: Int) async throws -> [UInt8] {
        let parts = try await getPageParts(disk, offset: offset, length: length)
        return parts.count == 1 ? parts[0].bytes : parts.joined()
    }

    /// `getPages` as the frames the bytes arrived in (no copy).
    public func getPageParts(_ disk: String, offset: UInt64, length: Int) async throws -> [PayloadPart] {
        try Self.checkIO(length, "a page read")
        let reply = try await calls.call(DiskMethod.getPages, DiskRangeRequest(disk: disk, offset: offset, length: UInt64(length)),
                                         idempotent: true)
        let received = reply.parts.reduce(0) { $0 + $1.count }
        guard received == length, reply.message.length == UInt64(length) else {
            throw RPCStatus(.dataLoss, "asked disk '\(disk)' for \(length) bytes at \(offset) and received \(received)")
        }
        return reply.parts
    }

    /// The written ranges of [offset, offset + length) (length 0: to the
    /// end of the disk), ascending, adjacent ones merged; 4 KiB granularity
    /// (a range is cut only at `offset` and `offset + length`). Follows the
    /// replies' `next_offset` to the end (`pageRangesPage` for one reply).
    public func pageRanges(_ disk: String, offset: UInt64 = 0, length: UInt64 = 0) async throws -> [DiskPageRange] {
        var ranges: [DiskPageRange] = [], at = offset
        while true {
            let page = try await pageRangesPage(disk, offset: at, length: length == 0 ? 0 : offset + length - at)
            for range in page.ranges { DiskPageRange.append(range, to: &ranges) }
            guard page.nextOffset != 0 else { return ranges }
            guard page.nextOffset > at else {
                throw RPCStatus(.internal, "page ranges of disk '\(disk)' did not advance past \(at)")
            }
            at = page.nextOffset
        }
    }

    /// One reply of `ListPageRanges`: the ranges of up to a few 1 GiB windows and where to continue (`nextOffset`, 0 at the end).
    public func pageRangesPage(_ disk: String, offset: UInt64, length: UInt64) async throws -> PageRangesResponse {
        try await calls.call(DiskMethod.listPageRanges, DiskRangeRequest(disk: disk, offset: offset, length: length),
                             idempotent: true).message
    }

    static func checkIO(_ length: Int, _ what: String) throws(RPCStatus) {
        guard (1...DiskMethod.maxIO).contains(length) else {
            throw RPCStatus(.invalidArgument, "\(what) moves 1 byte to 4 MiB (\(DiskMethod.maxIO)) per call, not \(length): split it")
        }
    }
}
