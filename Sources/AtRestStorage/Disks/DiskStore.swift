import AtRestCrypto

/// Disks (page blobs: fixed size, sparse, random-access 512-byte pages) on
/// a `StorageBackend`'s record maps, sealed under the account's key chain
/// (docs/FORMAT.md "Disks (mutable objects)").
///
/// - The account's disk directory is the record map `a-<account hash>` /
///   `disks`: one record per disk, key `d-<H("disk", account, name)>`,
///   value the sealed `DiskRecord` (random disk id, size, creation time,
///   name, metadata).
/// - The data is cut into 4 KiB chunks, one record each, key the chunk's
///   index in the disk (10 hex digits), value the 4096 bytes as a
///   `SealedRecord` (a new key per seal, bound to the disk id and the
///   chunk index), in region record maps `k-<disk id>-<region>` of 1 GiB
///   (262,144 chunks) each, created on the first write into the region.
///   A missing region or chunk reads as zeros. The chunks are kept by the
///   engine shared with file data (`ChunkedData`, geometry `.disk`); this
///   store adds the disk's rules (pages, size, the disks looked up lately).
/// - A write sets fully covered chunks unconditionally and
///   read-modify-writes partly covered ones with a condition on the value
///   read (retried when another writer came first), so two writers of the
///   same pages end with one or the other's bytes per page. A call
///   returns once its batches are durable.
public final class DiskStore: Sendable {
    public let backend: any StorageBackend
    /// Milliseconds since the Unix epoch (tests pass their own).
    let clock: @Sendable () -> Int64
    /// Disks looked up in the last second (`RecentLookups`' storage only: a
    /// disk call checks a remembered disk its own way, `withDisk`, since a
    /// disk's size can change under an entry as well as its id).
    let disks = RecentLookups<Disk>()

    public init(backend: any StorageBackend, clock: @escaping @Sendable () -> Int64 = QueueStore.wallClock) {
        self.backend = backend
        self.clock = clock
    }

    /// A disk as the data calls address it.
    struct Disk: Sendable, Equatable {
        var account: String
        var id: [UInt8]
        var size: UInt64
        /// The account's namespace (`AccountKey.accountContainer`).
        var container: BackendContainer
        /// Taken from `disks` (perhaps stale) rather than read now.
        var remembered = false

        var hexID: String { Hex.encode(id) }

        func same(_ other: Disk) -> Bool { id == other.id && size == other.size }
    }

    // MARK: Names (not inlined: see QueueStore)

    @inline(never)
    func directory(_ account: String, _ key: AccountKey) throws -> RecordMapName {
        try RecordMapName(try key.accountContainer(account), "disks")
    }

    func directoryKey(_ account: String, _ disk: String, _ key: AccountKey) throws -> String {
        "d-\(try key.hashName(["disk", account, disk]))"
    }

    /// Region `index` of the disk: chunks index * 262,144 ..< (index + 1) * 262,144.
    func region(_ disk: Disk, _ index: UInt64) throws -> RecordMapName {
        try ChunkedData.map(index, of: disk.hexID, in: disk.container, .disk)
    }

    /// A chunk's record key: its index in the disk, 10 hex digits (`ChunkedData.chunkKey`).
    static func chunkKey(_ index: UInt64) -> String { ChunkedData.chunkKey(index) }

    static func chunkIndex(ofKey key: String) -> UInt64? { ChunkedData.chunkIndex(ofKey: key) }

    static func diskContext(_ account: String) -> [UInt8] { SealedRecord.context(["disk", account]) }

    static func diskNotFound(_ account: String, _ disk: String) -> StorageError {
        StorageError(.notFound, "disk '\(disk)' does not exist in account '\(account)'")
    }

    // MARK: Disk records

    /// The disk's record and its sealed bytes (for a conditional change), or `.notFound`.
    func diskRecord(_ account: String, _ name: String, _ key: AccountKey) async throws -> (record: DiskRecord, sealed: [UInt8]) {
        try DiskLimits.validate(diskName: name)
        let directory = try directory(account, key), recordKey = try directoryKey(account, name, key)
        let found: [String: [UInt8]]
        do {
            found = try await backend.records(directory, keys: [recordKey])
        } catch let error as StorageError where error.code == .notFound {
            throw Self.diskNotFound(account, name)
        }
        guard let sealed = found[recordKey] else { throw Self.diskNotFound(account, name) }
        let record = try DiskRecord(decoding: try SealedRecord.open(sealed, context: Self.diskContext(account), map: directory,
                                                                    key: recordKey, accountKey: key))
        guard record.name == name else { throw StorageError.integrity("disk record \(recordKey) names another disk") }
        return (record, sealed)
    }

    func disk(_ account: String, _ record: DiskRecord, _ key: AccountKey) throws -> Disk {
        Disk(account: account, id: record.id, size: record.size, container: try key.accountContainer(account))
    }

    /// The disk as its record says now (and remembered for the data calls).
    func lookUp(_ account: String, _ name: String, _ key: AccountKey) async throws -> Disk {
        let cacheKey = RecentLookups<Disk>.Key(account: account, name: name, keyCheck: key.checkValue)
        do {
            let disk = try disk(account, try await diskRecord(account, name, key).record, key)
            disks[cacheKey] = disk
            return disk
        } catch {
            disks[cacheKey] = nil
            throw error
        }
    }

    func forget(_ account: String, _ name: String, _ key: AccountKey) {
        disks[RecentLookups<Disk>.Key(account: account, name: name, keyCheck: key.checkValue)] = nil
    }

    /// Thrown by a data call that found its (remembered) disk replaced: run again on the disk there now.
    typealias DiskChanged = ChunkedData.OwnerChanged

    /// Runs `body` on the disk as remembered (`disks`), or as read now;
    /// again on the disk read now when `body` finds it changed (`DiskChanged`).
    func withDisk<T>(_ account: String, _ name: String, _ key: AccountKey, _ body: (Disk) async throws -> T) async throws -> T {
        try DiskLimits.validate(diskName: name)
        var remembered = disks[RecentLookups<Disk>.Key(account: account, name: name, keyCheck: key.checkValue)]
        remembered?.remembered = true
        var disk = remembered
        while true {
            do {
                if let disk { return try await body(disk) }
                return try await body(try await lookUp(account, name, key))
            } catch is DiskChanged {
                disk = nil
            }
        }
    }

    /// `DiskLimits.check(pages:)` (or `check(range:)` when `pages` is false)
    /// on the disk's size. A remembered disk is read again before a range
    /// is refused: another worker may have grown it meanwhile.
    func check(_ offset: UInt64, _ length: UInt64, pages: Bool, in disk: Disk, _ what: String) throws {
        do {
            if pages { try DiskLimits.check(pages: offset, length, of: disk.size, what) } else { try DiskLimits.check(range: offset, length, of: disk.size, what) }
        } catch let error as StorageError where error.code == .invalidArgument && disk.remembered {
            throw DiskChanged()
        }
    }

    /// For a data call on a remembered disk that met a missing region map
    /// (which reads as zeros, or was the disk's maps deleted?): the disk read
    /// now; `DiskChanged` when it is another one or has another size.
    func confirm(_ disk: Disk, _ name: String, _ key: AccountKey) async throws {
        guard disk.remembered else { return }
        guard try await lookUp(disk.account, name, key).same(disk) else { throw DiskChanged() }
    }
}
