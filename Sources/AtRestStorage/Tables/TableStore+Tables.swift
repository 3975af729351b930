import AtRestCrypto

/// Creating, deleting and listing tables.
extension TableStore {
    /// `.alreadyExists` when the account has a table of that name (in any case).
    @discardableResult
    public func createTable(account: String, name: String, accountKey: AccountKey) async throws -> TableInfo {
        try TableLimits.validate(tableName: name)
        let directory = try directory(account, accountKey), recordKey = try directoryKey(account, name, accountKey)
        _ = try await StorageError.succeeds(unless: .alreadyExists) { try await self.backend.createRecordMap(directory) }
        let record = TableRecord(id: try SecureRandom.bytes(TableRecord.idSize), creationTime: clock(), name: name)
        let sealed = try SealedRecord.seal(try record.encoded, context: Self.tableContext(account), map: directory, key: recordKey, accountKey: accountKey)
        let map = try entities(account, record.id, accountKey)
        // The map first: a table record never names a map that is not there.
        try await backend.createRecordMap(map)
        let batch = RecordBatch(conditions: [.absent(recordKey)], sets: [recordKey: sealed])
        if try await StorageError.succeeds(unless: .conditionFailed, { try await self.backend.apply(batch, to: directory) }) {
            return TableInfo(name: name, creationTime: record.creationTime)
        }
        _ = try await StorageError.succeeds(unless: .notFound) { try await self.backend.deleteRecordMap(map) }
        throw StorageError(.alreadyExists, "table '\(name)' already exists in account '\(account)'")
    }

    /// Removes the table and every entity in it (`.notFound`).
    public func deleteTable(account: String, name: String, accountKey: AccountKey) async throws {
        let (record, sealed) = try await tableRecord(account, name, accountKey)
        let directory = try directory(account, accountKey), recordKey = try directoryKey(account, name, accountKey)
        // The name first: once it is gone no call finds the table, whatever happens to its map.
        let batch = RecordBatch(conditions: [.equals(recordKey, sealed)], removes: [recordKey])
        guard try await StorageError.succeeds(unless: .conditionFailed, { try await self.backend.apply(batch, to: directory) }) else {
            return try await deleteTable(account: account, name: name, accountKey: accountKey)  // replaced meanwhile: delete what is there now
        }
        forget(account, name, accountKey)
        let map = try entities(account, record.id, accountKey)
        _ = try await StorageError.succeeds(unless: .notFound) { try await self.backend.deleteRecordMap(map) }
    }

    /// Tables whose names start with `prefix`, by name, after `continuation` (a name from the last page).
    public func listTables(account: String, prefix: String = "", continuation: String? = nil, limit: Int = 1000,
                           accountKey: AccountKey) async throws -> TableListing {
        guard TableLimits.listPage.contains(limit) else { throw StorageError(.invalidArgument, "list 1-1000 tables at a time, not \(limit)") }
        let directory = try directory(account, accountKey)
        // The account never had a table when there is no directory.
        var tables: [TableInfo] = []
        for entry in try await backend.allRecords(directory) ?? [] {
            let record = try TableRecord(decoding: try SealedRecord.open(entry.value, context: Self.tableContext(account), map: directory,
                                                                         key: entry.key, accountKey: accountKey))
            guard record.name.hasPrefix(prefix), continuation.map({ record.name > $0 }) ?? true else { continue }
            tables.append(TableInfo(name: record.name, creationTime: record.creationTime))
        }
        // Names are hashed in the directory: the order by name is made here.
        tables.sort { $0.name < $1.name }
        let page = Array(tables.prefix(limit))
        return TableListing(tables: page, continuation: tables.count > limit ? page.last?.name : nil)
    }
}
