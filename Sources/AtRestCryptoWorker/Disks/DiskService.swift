import AtRestStorage
import AtRestWire

/// The disk methods a crypto worker serves (`atrest.v1.Disk/*`) with a
/// `DiskStore` on the backend of the account's pool, for calls the front
/// door has authenticated, authorised (readers: list, properties, get
/// pages, page ranges) and tagged with an `AccountContext`. Context,
/// account key and error mapping are the blob service's
/// (`BlobService.withKey`); names and I/O sizes are checked
/// (INVALID_ARGUMENT) before any key work. Page bytes come and go as
/// payload frames; a write or clear answers only once it is durable.
public struct DiskService: Sendable {
    let blobs: BlobService
    /// One disk store per object store (pool), kept for the worker's life:
    /// each remembers the disks it looked up (`DiskStore.disks`: id and size, for a second).
    let stores = PoolStores { DiskStore(backend: $0) }

    public init(blobs: BlobService) { self.blobs = blobs }

    /// Registers every disk method on `router`.
    public func register(on router: inout RPCRouter) {
        registerDiskMethods(&router)
        registerPageMethods(&router)
    }

    /// Runs `body` with the disk store of the account's pool, the account id and key.
    func withDisks<T>(_ rpc: RPCContext, disk: String?, _ body: (DiskStore, String, AccountKey) async throws -> T) async throws -> T {
        if let disk {
            do { try DiskLimits.validate(diskName: disk) } catch let error as StorageError { throw error.rpcStatus }
        }
        return try await blobs.withKey(rpc) { store, account, key in try await body(stores.store(for: store), account, key) }
    }

    /// `length` bytes (1 B to 4 MiB) as an `Int`, or INVALID_ARGUMENT.
    static func ioLength(_ length: UInt64, _ what: String) throws(RPCStatus) -> Int {
        guard length >= 1, length <= UInt64(DiskLimits.maxIO) else {
            throw RPCStatus(.invalidArgument, "\(what) moves 1 byte to 4 MiB (\(DiskLimits.maxIO)) at a time, not \(length)")
        }
        return Int(length)
    }

    static func wire(_ info: DiskInfo) -> DiskProperties {
        DiskProperties(disk: info.name, size: info.size, createdAtMs: info.creationTime, metadata: info.metadata)
    }
}
