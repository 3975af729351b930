import AtRestStorage
import AtRestWire

/// The file share methods a crypto worker serves (`atrest.v1.File/*`) with
/// a `FileStore` on the backend of the account's pool, for calls the front
/// door has authenticated, authorised (readers: list, properties, read) and
/// tagged with an `AccountContext` (the caller's account: a call can only
/// reach the shares of the account its token admits). Context, account key
/// and error mapping are the blob service's (`BlobService.withKey`:
/// NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION for not empty / is a
/// directory / not a directory, RESOURCE_EXHAUSTED for the quota); share
/// names, paths and I/O sizes are checked (INVALID_ARGUMENT) before any key
/// work. File bytes come and go as payload frames; a write answers only
/// once it is durable.
public struct FileService: Sendable {
    let blobs: BlobService
    /// One file store per object store (pool), kept for the worker's life.
    let stores = PoolStores { FileStore(backend: $0) }

    public init(blobs: BlobService) { self.blobs = blobs }

    /// Registers every file method on `router`.
    public func register(on router: inout RPCRouter) {
        registerShareMethods(&router)
        registerTreeMethods(&router)
        registerDataMethods(&router)
    }

    /// Runs `body` with the file store of the account's pool, the account id
    /// and key, after checking the share name and the paths.
    func withFiles<T>(_ rpc: RPCContext, share: String?, paths: [String] = [],
                      _ body: (FileStore, String, AccountKey) async throws -> T) async throws -> T {
        do {
            if let share { try FileLimits.validate(shareName: share) }
            for path in paths { _ = try FilePath(path) }
        } catch let error as StorageError { throw error.rpcStatus }
        return try await blobs.withKey(rpc) { store, account, key in try await body(stores.store(for: store), account, key) }
    }

    /// `length` bytes (1 B to 4 MiB) as an `Int`, or INVALID_ARGUMENT.
    static func ioLength(_ length: UInt64, _ what: String) throws(RPCStatus) -> Int {
        guard length >= 1, length <= UInt64(FileMethod.maxIO) else {
            throw RPCStatus(.invalidArgument, "\(what) moves 1 byte to 4 MiB (\(FileMethod.maxIO)) at a time, not \(length)")
        }
        return Int(length)
    }

    static func wire(_ info: ShareInfo) -> ShareProperties {
        ShareProperties(share: info.name, quota: info.quota, usageBytes: info.usageBytes, files: info.files, directories: info.directories,
                        createdAtMs: info.creationTime, metadata: info.metadata)
    }

    static func wire(_ info: FileInfo) -> FileProperties {
        FileProperties(name: info.name, kind: UInt32(info.kind.rawValue), size: info.size, mode: info.mode, ctimeMs: info.ctime,
                       mtimeMs: info.mtime, metadata: info.metadata)
    }

    /// 1-1000 (0: 1000).
    static func pageSize(_ size: UInt32) -> Int { size == 0 ? 1000 : Int(size) }
}
