import AtRestMessaging
import AtRestWire

/// Typed calls to `atrest.v1.Table/*` of one account, through the front
/// door (the account metadata and token as for blobs: `BlobClient.call`).
/// Listing, get and query are marked idempotent; writes are not (a re-run
/// insert would find its own entity, a re-run If-Match write a new ETag).
public struct TableClient: Sendable {
    let calls: BlobClient
    public var account: String { calls.account }

    public init(_ base: ServiceClient, account: String) {
        calls = BlobClient(base, account: account)
    }

    @discardableResult
    public func createTable(_ table: String) async throws -> TableProperties {
        try await calls.call(TableMethod.createTable, TableRequest(table: table)).message
    }

    public func deleteTable(_ table: String) async throws {
        _ = try await calls.call(TableMethod.deleteTable, TableRequest(table: table))
    }

    public func listTables(prefix: String = "", pageSize: UInt32 = 0, continuation: String = "") async throws -> TableListResponse {
        try await calls.call(TableMethod.listTables, TableListRequest(prefix: prefix, pageSize: pageSize, continuation: continuation),
                             idempotent: true).message
    }

    /// One write: `method` is one of `TableMethod`'s insert, replace, merge, insertOrReplace and insertOrMerge.
    public func write(_ method: RPCMethod<EntityRequest, Entity>, _ table: String, _ entity: Entity, ifMatch: String = "") async throws -> Entity {
        try await calls.call(method, EntityRequest(table: table, entity: entity, ifMatch: ifMatch)).message
    }

    public func insert(_ table: String, _ entity: Entity) async throws -> Entity {
        try await write(TableMethod.insertEntity, table, entity)
    }

    public func delete(_ table: String, partitionKey: String, rowKey: String, ifMatch: String = "*") async throws {
        _ = try await calls.call(TableMethod.deleteEntity, EntityRequest(table: table, entity: Entity(partitionKey: partitionKey, rowKey: rowKey),
                                                                         ifMatch: ifMatch))
    }

    public func get(_ table: String, partitionKey: String, rowKey: String, select: [String] = []) async throws -> Entity {
        try await calls.call(TableMethod.getEntity, EntityKeyRequest(table: table, partitionKey: partitionKey, rowKey: rowKey, select: select),
                             idempotent: true).message
    }

    /// One page; pass its `continuation` back for the next.
    public func query(_ table: String, filter: String = "", select: [String] = [], top: UInt32 = 0, continuation: String = "") async throws -> EntityList {
        try await calls.call(TableMethod.queryEntities, QueryEntitiesRequest(table: table, filter: filter, select: select, top: top,
                                                                             continuation: continuation), idempotent: true).message
    }

    /// Up to 100 operations on one partition, all or none.
    public func batch(_ table: String, _ operations: [EntityOperation]) async throws -> [Entity] {
        try await calls.call(TableMethod.executeBatch, EntityBatchRequest(table: table, operations: operations)).message.results
    }
}
