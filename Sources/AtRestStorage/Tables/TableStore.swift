import AtRestCrypto

/// Tables of typed entities on a `StorageBackend`'s record maps, sealed
/// under the account's key chain (docs/FORMAT.md "Tables").
///
/// - The account's table directory is the record map `a-<account hash>` /
///   `tables`: one record per table, key `t-<H("table", account, lowercased
///   name)>`, value the sealed `TableRecord` (name, random table id, creation time).
/// - Each table is the record map `a-<account hash>` / `t-<table id>`: one
///   entity per key `e-<partition hash>-<row hash>` (plus piece records for
///   an entity over 128 KiB), so a partition is one key range.
/// - Every write reads what it changes and applies one batch conditional
///   on exactly that: all of a batch or none, and of two writers racing on
///   one entity with the same ETag exactly one wins.
public final class TableStore: Sendable {
    public let backend: any StorageBackend
    /// Milliseconds since the Unix epoch (tests pass their own).
    let clock: @Sendable () -> Int64
    /// Partition indexes read by this store's queries (kept while the store lives: a worker keeps one per pool).
    let indexes = PartitionIndexCache()
    /// Partition key listings, while their table's map is unchanged.
    let listings = PartitionListingCache()
    /// Tables looked up lately (`onTable`).
    let tables: RecentLookups<Table>

    /// `tableLifetime`: how long a table looked up is used without reading its directory record again (`RecentLookups`).
    public init(backend: any StorageBackend, clock: @escaping @Sendable () -> Int64 = QueueStore.wallClock,
                tableLifetime: Duration = .seconds(1)) {
        self.backend = backend
        self.clock = clock
        tables = RecentLookups(lifetime: tableLifetime)
    }

    /// A table as the engine addresses it: its map and the ids that key its records.
    struct Table: Sendable {
        let account: String
        let record: TableRecord
        let map: RecordMapName
        /// Made once per call, not per entity (a scan's page opens and hashes a thousand).
        let hexID: String
        let entityContext: [UInt8]

        init(account: String, record: TableRecord, map: RecordMapName) {
            (self.account, self.record, self.map) = (account, record, map)
            hexID = Hex.encode(record.id)
            entityContext = SealedRecord.context(["entity", account, hexID])
        }
    }

    // MARK: Names (not inlined: see QueueStore)

    @inline(never)
    func directory(_ account: String, _ key: AccountKey) throws -> RecordMapName {
        try RecordMapName(try key.accountContainer(account), "tables")
    }

    func directoryKey(_ account: String, _ table: String, _ key: AccountKey) throws -> String {
        "t-\(try key.hashName(["table", account, table.lowercased()]))"
    }

    @inline(never)
    func entities(_ account: String, _ tableID: [UInt8], _ key: AccountKey) throws -> RecordMapName {
        try RecordMapName(try directory(account, key).container, "t-\(Hex.encode(tableID))")
    }

    /// The key prefix of a partition: `e-<H("partition", …)>-`.
    func partitionPrefix(_ table: Table, _ partitionKey: String, _ key: AccountKey) throws -> String {
        "e-\(try key.hashName(["partition", table.account, table.hexID, partitionKey]))-"
    }

    /// The main record key of an entity.
    func entityKey(_ table: Table, _ partitionKey: String, _ rowKey: String, _ key: AccountKey) throws -> String {
        try partitionPrefix(table, partitionKey, key) + rowHash(table, partitionKey, rowKey, key)
    }

    /// R of an entity's key `e-<P>-<R>`.
    func rowHash(_ table: Table, _ partitionKey: String, _ rowKey: String, _ key: AccountKey) throws -> String {
        try key.hashName(["row", table.account, table.hexID, partitionKey, rowKey])
    }

    static func tableContext(_ account: String) -> [UInt8] { SealedRecord.context(["table", account]) }

    static func tableNotFound(_ account: String, _ table: String) -> StorageError {
        StorageError(.notFound, "table '\(table)' does not exist in account '\(account)'")
    }

    static func describe(_ partitionKey: String, _ rowKey: String) -> String {
        "entity (PartitionKey '\(partitionKey.prefix(80))', RowKey '\(rowKey.prefix(80))')"
    }

    // MARK: Table records

    /// The table's record and its sealed bytes (for a conditional change), or `.notFound`.
    func tableRecord(_ account: String, _ table: String, _ key: AccountKey) async throws -> (record: TableRecord, sealed: [UInt8]) {
        try TableLimits.validate(tableName: table)
        let directory = try directory(account, key), recordKey = try directoryKey(account, table, key)
        let found: [String: [UInt8]]
        do {
            found = try await backend.records(directory, keys: [recordKey])
        } catch let error as StorageError where error.code == .notFound {
            throw Self.tableNotFound(account, table)
        }
        guard let sealed = found[recordKey] else { throw Self.tableNotFound(account, table) }
        let record = try TableRecord(decoding: try SealedRecord.open(sealed, context: Self.tableContext(account), map: directory,
                                                                     key: recordKey, accountKey: key))
        guard record.name.lowercased() == table.lowercased() else { throw StorageError.integrity("table record \(recordKey) names another table") }
        return (record, sealed)
    }

    /// An existing table, as its directory record names it now.
    func table(_ account: String, _ name: String, _ key: AccountKey) async throws -> Table {
        let record = try await tableRecord(account, name, key).record
        return Table(account: account, record: record, map: try entities(account, record.id, key))
    }

    /// `body` run on the table `name`: the one this store looked up within
    /// the last `tableLifetime`, when it has it (`RecentLookups` says why
    /// that is safe, and what happens when the table was deleted or made
    /// again since).
    func onTable<R>(_ account: String, _ name: String, _ key: AccountKey, _ body: (Table) async throws -> R) async throws -> R {
        try TableLimits.validate(tableName: name)
        return try await tables.run(cacheKey(account, name, key), id: \.record.id, lookUp: { try await table(account, name, key) }, body)
    }

    /// Where `tables` keeps the table `name` (names are looked up in any case).
    func cacheKey(_ account: String, _ name: String, _ key: AccountKey) -> RecentLookups<Table>.Key {
        .init(account: account, name: name.lowercased(), keyCheck: key.checkValue)
    }

    /// Drops the table `name` from `tables` (this store just deleted it).
    func forget(_ account: String, _ name: String, _ key: AccountKey) {
        tables[cacheKey(account, name, key)] = nil
    }
}
