import AtRestStorage
import AtRestWire

/// The table methods a crypto worker serves (`atrest.v1.Table/*`) with a
/// `TableStore` on the backend of the account's pool, for calls the front
/// door has authenticated, authorised (readers: list tables, get, query)
/// and tagged with an `AccountContext`. Context, account key and error
/// mapping are the blob service's (`BlobService.withKey`); names and
/// property types are checked (INVALID_ARGUMENT) before any key work. A
/// write answers only once it is durable.
public struct TableService: Sendable {
    let blobs: BlobService
    /// One table store per pool, kept for the worker's life: each keeps the partition indexes its queries read.
    let stores = PoolStores { TableStore(backend: $0) }

    public init(blobs: BlobService) { self.blobs = blobs }

    /// Registers every table method on `router`.
    public func register(on router: inout RPCRouter) {
        registerTableMethods(&router)
        registerEntityMethods(&router)
    }

    /// Runs `body` with the table store of the account's pool, the account id and key.
    func withTables<T>(_ rpc: RPCContext, table: String?, _ body: (TableStore, String, AccountKey) async throws -> T) async throws -> T {
        if let table {
            do { try TableLimits.validate(tableName: table) } catch let error as StorageError { throw error.rpcStatus }
        }
        return try await blobs.withKey(rpc) { store, account, key in try await body(stores.store(for: store), account, key) }
    }

    static func wire(_ info: TableInfo) -> TableProperties {
        TableProperties(table: info.name, createdAtMs: info.creationTime)
    }
}
