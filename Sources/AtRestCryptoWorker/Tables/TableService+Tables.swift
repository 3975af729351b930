import AtRestStorage
import AtRestWire

extension TableService {
    func registerTableMethods(_ router: inout RPCRouter) {
        router.register(TableMethod.createTable) { (request: TableRequest, rpc) async throws -> TableProperties in
            try await withTables(rpc, table: request.table) { tables, account, key in
                Self.wire(try await tables.createTable(account: account, name: request.table, accountKey: key))
            }
        }
        router.register(TableMethod.deleteTable) { (request: TableRequest, rpc) async throws -> EmptyMessage in
            try await withTables(rpc, table: request.table) { tables, account, key in
                try await tables.deleteTable(account: account, name: request.table, accountKey: key)
            }
            return EmptyMessage()
        }
        router.register(TableMethod.listTables) { (request: TableListRequest, rpc) async throws -> TableListResponse in
            try await withTables(rpc, table: nil) { tables, account, key in
                let page = try await tables.listTables(account: account, prefix: request.prefix,
                                                       continuation: request.continuation.isEmpty ? nil : request.continuation,
                                                       limit: request.pageSize == 0 ? 1000 : Int(request.pageSize), accountKey: key)
                return TableListResponse(tables: page.tables.map(Self.wire), continuation: page.continuation ?? "")
            }
        }
    }
}
