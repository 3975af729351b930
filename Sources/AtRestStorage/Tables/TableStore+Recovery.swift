/// Offline recovery (`atrest-recover`): every table of an account and every
/// entity it holds, each entity opened and checked on its own (its pieces
/// joined, its tag checked, its keys hashing to its record key), so one
/// damaged record is reported and the rest still reads. Reads only.
extension TableStore {
    /// A record that does not open: where (its record key) and why.
    public typealias DamagedRecord = QueueStore.DamagedRecord

    /// A table as its directory record names it.
    public struct RecoveredTable: Sendable {
        public var info: TableInfo
        let table: Table
    }

    /// The account's tables by name, and the directory records that do not
    /// open. An account that never had a table has none.
    public func recoverTables(account: String, accountKey: AccountKey) async throws -> (tables: [RecoveredTable], damaged: [DamagedRecord]) {
        let directory = try directory(account, accountKey)
        var tables: [RecoveredTable] = [], damaged: [DamagedRecord] = []
        for entry in try await backend.allRecords(directory) ?? [] {
            do {
                let record = try TableRecord(decoding: try SealedRecord.open(entry.value, context: Self.tableContext(account), map: directory,
                                                                             key: entry.key, accountKey: accountKey))
                guard try directoryKey(account, record.name, accountKey) == entry.key else {
                    throw StorageError.integrity("table record \(entry.key) names another table")
                }
                tables.append(RecoveredTable(info: TableInfo(name: record.name, creationTime: record.creationTime),
                                             table: Table(account: account, record: record, map: try entities(account, record.id, accountKey))))
            } catch {
                damaged.append(DamagedRecord(key: entry.key, reason: QueueStore.reason(error)))
            }
        }
        return (tables.sorted { $0.info.name < $1.info.name }, damaged)
    }

    /// Every entity of `table` in storage order (by record key, not by
    /// PartitionKey and RowKey); `each` gets every entity or damaged record
    /// in turn. A piece record whose entity record is missing is damaged too,
    /// as is a record of no kind the table map holds; partition index
    /// chunks and deltas (a cache, docs/FORMAT.md "Tables") are passed over.
    public func recoverEntities(of table: RecoveredTable, accountKey: AccountKey,
                                _ each: (Result<TableEntity, DamagedRecord>) async throws -> Void) async throws {
        var after: String?, pending: (main: String, value: [UInt8], pieces: [String: [UInt8]])?
        func flush() async throws {
            guard let entry = pending else { return }
            pending = nil
            let opened: Result<TableEntity, DamagedRecord>
            do {
                opened = .success(try open(table.table, entry.main, entry.value, accountKey) { entry.pieces[$0] }.entity)
            } catch {
                opened = .failure(DamagedRecord(key: entry.main, reason: QueueStore.reason(error)))
            }
            try await each(opened)
        }
        repeat {
            let page = try await backend.records(table.table.map, after: after, limit: 1000)
            for record in page.records {
                // Partition index chunks and deltas (`i-`) are a cache of what the entity records say: nothing to recover.
                if record.key.hasPrefix("i-") { continue }
                guard record.key.hasPrefix("e-") else {
                    try await each(.failure(DamagedRecord(key: record.key, reason: "neither an entity record nor a partition index chunk")))
                    continue
                }
                guard EntityRecord.isPieceKey(record.key) else {
                    try await flush()
                    pending = (record.key, record.value, [:])
                    continue
                }
                if let main = pending?.main, record.key.hasPrefix(main + "-") {
                    pending?.pieces[record.key] = record.value
                } else {
                    try await each(.failure(DamagedRecord(key: record.key, reason: "a piece record whose entity record is missing")))
                }
            }
            after = page.more ? page.records.last?.key : nil
        } while after != nil
        try await flush()
        await backend.doneReading(table.table.map)
    }
}
