import AtRestCrypto

/// The chunk engine of disks and files: one object's bytes (sparse,
/// byte-addressed) cut into fixed-size chunks, one `SealedRecord` each, in
/// region record maps of the account's namespace (docs/FORMAT.md "Disks
/// (mutable objects)" and "File data chunks").
///
/// - Chunk `i` is the record with key `chunkKey(i)` (10 hex digits) in the
///   region map `<prefix>-<hex id>-<region, 4 hex>`, region
///   `i / chunksPerRegion`; its value is the chunk's `chunkSize` bytes
///   sealed under the context (`context`, account, hex id, chunk key), a
///   new salt (so a new AES key) per seal.
/// - A missing region map or chunk reads as zeros. A region map is made by
///   the first write into it, after the owner (`regionMissing`) says the
///   object still exists, and dropped again when the owner is gone once it
///   is made (a delete racing the write removes the owner first and its
///   maps after).
/// - A write sets fully covered chunks unconditionally and
///   read-modify-writes partly covered ones conditional on the value read
///   (retried when another writer came first): two writers of disjoint
///   bytes of one chunk both land; of the same bytes, one or the other.
///   One record batch per region and 256 chunks, the batches side by side;
///   durable when the call returns. Not atomic per call.
///
/// Offsets and lengths are any bytes; callers check them against the
/// object's size, alignment and I/O limits. Built per call (cheap).
struct ChunkedData: Sendable {
    /// How an object kind cuts and names its data.
    struct Geometry: Sendable, Equatable {
        /// Bytes per chunk (one sealed record).
        var chunkSize: UInt64
        /// Chunks per region record map.
        var chunksPerRegion: UInt64
        /// Region maps are `<mapPrefix>-<hex id>-<region>`.
        var mapPrefix: String
        /// The first part of every chunk's seal context.
        var context: String
        /// The fewest whole chunks a write seals as one extent (0: never;
        /// "Extents" in docs/FORMAT.md): 256 KiB for both kinds.
        var extentChunks: UInt64 = 0

        /// Disks: 4 KiB chunks, `k-<disk id>-<region>` maps of 1 GiB, "disk-chunk".
        static let disk = Geometry(chunkSize: DiskLimits.chunkSize, chunksPerRegion: DiskLimits.chunksPerRegion, mapPrefix: "k", context: "disk-chunk",
                                   extentChunks: 64)
        /// Files: 64 KiB chunks, `fc-<data id>-<region>` maps of 1 GiB, "file-chunk".
        static let file = Geometry(chunkSize: 65_536, chunksPerRegion: 16_384, mapPrefix: "fc", context: "file-chunk", extentChunks: 4)

        /// Bytes per region map.
        var regionSize: UInt64 { chunkSize * chunksPerRegion }

        /// Regions an object of `size` bytes spans: `0 ..< regions(size)`.
        func regions(_ size: UInt64) -> UInt64 { (size + regionSize - 1) / regionSize }

        /// The first byte no chunk key (10 hex digits) or region (4 hex digits) can address.
        var addressableEnd: UInt64 {
            let chunks = min(UInt64(1) << 40, chunksPerRegion.multipliedReportingOverflow(by: 1 << 16).partialValue)
            let (end, overflow) = chunks.multipliedReportingOverflow(by: chunkSize)
            return overflow ? .max : end
        }
    }

    /// Why the engine asks the owner about a missing region map; the owner
    /// throws to stop the call (`.notFound` when the object is gone,
    /// `OwnerChanged` when it is another one now), returns to go on.
    enum RegionMissing: Sendable {
        /// A read or a listing of stored ranges found nothing in a region:
        /// zeros, unless the object was deleted meanwhile.
        case reading
        /// A write is about to make the region map.
        case creating
        /// The write made the map; a throw of `.notFound` or `OwnerChanged`
        /// now makes the engine delete the map again before it rethrows.
        case created
    }

    /// Thrown by an owner (`RegionMissing`) whose object was replaced
    /// (deleted and created again, or resized): run the call again on the
    /// object there now.
    struct OwnerChanged: Error {}

    let backend: any StorageBackend
    let geometry: Geometry
    let account: String
    /// The object's data id, 32 hex digits (disk id, file data id).
    let hexID: String
    /// The account's namespace (`AccountKey.accountContainer`).
    let container: BackendContainer
    let accountKey: AccountKey
    let regionMissing: @Sendable (RegionMissing) async throws -> Void

    init(backend: any StorageBackend, geometry: Geometry, account: String, id: [UInt8], container: BackendContainer,
         accountKey: AccountKey, regionMissing: @escaping @Sendable (RegionMissing) async throws -> Void) {
        self.backend = backend
        self.geometry = geometry
        self.account = account
        self.hexID = Hex.encode(id)
        self.container = container
        self.accountKey = accountKey
        self.regionMissing = regionMissing
    }

    // MARK: Names (not inlined: see QueueStore)

    /// Region map `index`: chunks index * chunksPerRegion ..< (index + 1) * chunksPerRegion.
    func map(_ region: UInt64) throws -> RecordMapName {
        try Self.map(region, of: hexID, in: container, geometry)
    }

    @inline(never)
    static func map(_ region: UInt64, of hexID: String, in container: BackendContainer, _ geometry: Geometry) throws -> RecordMapName {
        try RecordMapName(container, "\(geometry.mapPrefix)-\(hexID)-\(Hex.fixedWidth(region, digits: 4))")
    }

    /// A chunk's record key: its index in the object, 10 hex digits (byte order is numeric order).
    static func chunkKey(_ index: UInt64) -> String { Hex.fixedWidth(index, digits: 10) }

    /// The chunk a record key names: only the form `chunkKey` writes.
    /// (`UInt64(_:radix:)` alone also takes "+000000001", "-000000000" and
    /// capitals, keys that sort elsewhere in a map: found by fuzz-file-records.)
    static func chunkIndex(ofKey key: String) -> UInt64? {
        guard key.utf8.count == 10, let index = UInt64(key, radix: 16), chunkKey(index) == key else { return nil }
        return index
    }

    func context(_ chunkKey: String) -> [UInt8] { SealedRecord.context([geometry.context, account, hexID, chunkKey]) }

    /// A stored chunk's plaintext (`chunkSize` bytes), or `.integrityFailure`.
    func open(_ sealed: [UInt8], _ map: RecordMapName, _ key: String) throws -> [UInt8] {
        let plaintext = try SealedRecord.open(sealed, context: context(key), map: map, key: key, accountKey: accountKey)
        guard plaintext.count == Int(geometry.chunkSize) else {
            throw StorageError.integrity("chunk \(key) of \(map) is not \(geometry.chunkSize) bytes")
        }
        return plaintext
    }

    func seal(_ plaintext: [UInt8], _ map: RecordMapName, _ key: String) throws -> [UInt8] {
        try SealedRecord.seal(plaintext, context: context(key), map: map, key: key, accountKey: accountKey)
    }

    /// `.invalidArgument` when [offset, offset + length) overflows or lies beyond what chunk keys address.
    func check(_ offset: UInt64, _ length: UInt64) throws {
        let end = geometry.addressableEnd
        guard offset <= end, length <= end - offset else {
            throw StorageError(.invalidArgument, "range [\(offset), \(offset &+ length)) lies beyond the largest object (\(end) bytes)")
        }
    }
}
