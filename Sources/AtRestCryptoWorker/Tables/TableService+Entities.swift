import AtRestStorage
import AtRestWire

extension TableService {
    func registerEntityMethods(_ router: inout RPCRouter) {
        let writes: [(RPCMethod<EntityRequest, Entity>, TableOperation.Kind)] = [
            (TableMethod.insertEntity, .insert), (TableMethod.replaceEntity, .replace), (TableMethod.mergeEntity, .merge),
            (TableMethod.insertOrReplaceEntity, .insertOrReplace), (TableMethod.insertOrMergeEntity, .insertOrMerge),
        ]
        for (method, kind) in writes {
            router.register(method) { (request: EntityRequest, rpc) async throws -> Entity in
                let operation = TableOperation(kind, try Self.entity(request.entity), ifMatch: request.ifMatch)
                return try await withTables(rpc, table: request.table) { tables, account, key in
                    Self.wire(try await tables.batch(account: account, table: request.table, operations: [operation], accountKey: key)[0]!)
                }
            }
        }
        router.register(TableMethod.deleteEntity) { (request: EntityRequest, rpc) async throws -> EmptyMessage in
            try await withTables(rpc, table: request.table) { tables, account, key in
                try await tables.deleteEntity(account: account, table: request.table, partitionKey: request.entity.partitionKey,
                                              rowKey: request.entity.rowKey, ifMatch: request.ifMatch, accountKey: key)
            }
            return EmptyMessage()
        }
        router.register(TableMethod.getEntity) { (request: EntityKeyRequest, rpc) async throws -> Entity in
            try await withTables(rpc, table: request.table) { tables, account, key in
                Self.wire(try await tables.get(account: account, table: request.table, partitionKey: request.partitionKey, rowKey: request.rowKey,
                                               select: request.select.isEmpty ? nil : request.select, accountKey: key))
            }
        }
        router.register(TableMethod.queryEntities) { (request: QueryEntitiesRequest, rpc) async throws -> EntityList in
            try await withTables(rpc, table: request.table) { tables, account, key in
                let page = try await tables.query(account: account, table: request.table, filter: request.filter,
                                                  select: request.select.isEmpty ? nil : request.select, top: request.top == 0 ? 1000 : Int(request.top),
                                                  continuation: request.continuation.isEmpty ? nil : request.continuation, accountKey: key)
                return EntityList(entities: page.entities.map(Self.wire), continuation: page.continuation ?? "")
            }
        }
        router.register(TableMethod.executeBatch) { (request: EntityBatchRequest, rpc) async throws -> EntityBatchResponse in
            let operations = try request.operations.enumerated().map { try Self.operation($1, index: $0) }
            return try await withTables(rpc, table: request.table) { tables, account, key in
                let results = try await tables.batch(account: account, table: request.table, operations: operations, accountKey: key)
                return EntityBatchResponse(results: zip(operations, results).map { operation, stored in
                    stored.map(Self.wire) ?? Entity(partitionKey: operation.entity.partitionKey, rowKey: operation.entity.rowKey)
                })
            }
        }
    }
}
