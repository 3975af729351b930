/// The methods of `service Table` (table.proto), served by the crypto workers.
public enum TableMethod {
    public static let service = "atrest.v1.Table"
    /// What every table method name starts with (the front door routes on it).
    public static let prefix = service + "/"
    public static let createTable = RPCMethod<TableRequest, TableProperties>(service, "CreateTable")
    public static let deleteTable = RPCMethod<TableRequest, EmptyMessage>(service, "DeleteTable")
    public static let listTables = RPCMethod<TableListRequest, TableListResponse>(service, "ListTables")
    public static let insertEntity = RPCMethod<EntityRequest, Entity>(service, "InsertEntity")
    public static let replaceEntity = RPCMethod<EntityRequest, Entity>(service, "ReplaceEntity")
    public static let mergeEntity = RPCMethod<EntityRequest, Entity>(service, "MergeEntity")
    public static let insertOrReplaceEntity = RPCMethod<EntityRequest, Entity>(service, "InsertOrReplaceEntity")
    public static let insertOrMergeEntity = RPCMethod<EntityRequest, Entity>(service, "InsertOrMergeEntity")
    public static let deleteEntity = RPCMethod<EntityRequest, EmptyMessage>(service, "DeleteEntity")
    public static let getEntity = RPCMethod<EntityKeyRequest, Entity>(service, "GetEntity")
    public static let queryEntities = RPCMethod<QueryEntitiesRequest, EntityList>(service, "QueryEntities")
    public static let executeBatch = RPCMethod<EntityBatchRequest, EntityBatchResponse>(service, "ExecuteBatch")

    public static let all: [RPCMethodInfo] = [
        createTable.info, deleteTable.info, listTables.info, insertEntity.info, replaceEntity.info, mergeEntity.info,
        insertOrReplaceEntity.info, insertOrMergeEntity.info, deleteEntity.info, getEntity.info, queryEntities.info, executeBatch.info,
    ]

    /// What an account reader may call: listing tables, getting and querying entities.
    public static let readerMethods: Set<String> = [listTables.name, getEntity.name, queryEntities.name]
    /// Methods that may run twice without harm (the broker re-queues them
    /// when a worker dies). Writes are not: a re-run insert would answer
    /// ALREADY_EXISTS for its own write, a re-run If-Match write FAILED_PRECONDITION.
    public static let idempotent: Set<String> = [listTables.name, getEntity.name, queryEntities.name]
}
