import AtRestCrypto

/// Queries: the filter evaluated on decrypted entities, a fixed partition
/// read as one key range, pages with sealed continuation tokens.
extension TableStore {
    /// Up to `top` entities matching `filter` ("" matches all) after
    /// `continuation`, in (PartitionKey, RowKey) order, with only the
    /// `select`ed properties when given. A bad filter or token is `.invalidArgument`.
    public func query(account: String, table name: String, filter: String = "", select: [String]? = nil, top: Int = 1000,
                      continuation: String? = nil, accountKey: AccountKey) async throws -> EntityPage {
        guard TableLimits.queryPage.contains(top) else { throw StorageError(.invalidArgument, "top is 1-1000 entities per page, not \(top)") }
        let parsed = try Self.parse(filter)
        return try await onTable(account, name, accountKey) { table in
            let after = try continuation.map { try openContinuation($0, table, accountKey) }
            let found: [TableEntity]
            if let partition = parsed?.fixedPartition {
                found = try await partitionPage(table, partition, filter: parsed, top: top, after: after, accountKey)
            } else {
                var kept = FirstEntities(count: top + 1)
                try await scan(table, prefix: "e-", accountKey) { entity in
                    if let after, !TableEntity.precedes(after, (entity.partitionKey, entity.rowKey)) { return }
                    if parsed?.matches(entity) ?? true { kept.add(entity) }
                }
                found = kept.sorted
            }
            let page = Array(found.prefix(top))
            let next = found.count > top ? try sealContinuation(page[page.count - 1], table, accountKey) : nil
            return EntityPage(entities: page.map { $0.selecting(select) }, continuation: next)
        }
    }

    static func parse(_ filter: String) throws -> TableFilter? {
        guard !filter.allSatisfy(\.isWhitespace) else { return nil }
        do {
            return try TableFilter(parsing: filter)
        } catch {
            throw StorageError(.invalidArgument, error.description)
        }
    }

    /// Every entity whose key starts with `prefix` (`e-`: the whole table; `e-<P>-`: a partition), opened, in storage order.
    func scan(_ table: Table, prefix: String, _ key: AccountKey, _ body: (TableEntity) throws -> Void) async throws {
        var after: String? = prefix, pending: (main: String, value: [UInt8], pieces: [String: [UInt8]])?
        func flush() throws {
            guard let entry = pending else { return }
            try body(try open(table, entry.main, entry.value, key) { entry.pieces[$0] }.entity)
            pending = nil
        }
        scanning: repeat {
            let page: RecordPage
            do {
                page = try await backend.records(table.map, after: after, limit: 1000)
            } catch let error as StorageError where error.code == .notFound {
                throw Self.tableNotFound(table.account, table.record.name)
            }
            for record in page.records {
                if !record.key.hasPrefix(prefix) { break scanning }
                if EntityRecord.isPieceKey(record.key) {
                    pending?.pieces[record.key] = record.value
                } else {
                    try flush()
                    pending = (record.key, record.value, [:])
                }
            }
            after = page.more ? page.records.last?.key : nil
        } while after != nil
        try flush()
    }

    // MARK: Continuation tokens

    private static let continuationKey = "continuation"

    private func continuationContext(_ table: Table) -> [UInt8] { SealedRecord.context(["continuation", table.account, table.hexID]) }

    /// base64url of (PartitionKey, RowKey) sealed under a key of the account's, bound to the table.
    func sealContinuation(_ last: TableEntity, _ table: Table, _ key: AccountKey) throws -> String {
        var w = ByteWriter()
        try w.bytes16(Array(last.partitionKey.utf8), field: "PartitionKey")
        try w.bytes16(Array(last.rowKey.utf8), field: "RowKey")
        return Base64URL.encode(try SealedRecord.seal(w.bytes, context: continuationContext(table), map: table.map, key: Self.continuationKey,
                                                      accountKey: key))
    }

    func openContinuation(_ token: String, _ table: Table, _ key: AccountKey) throws -> (String, String) {
        do {
            guard let sealed = Base64URL.decode(token) else { throw StorageError(.invalidArgument, "not base64url") }
            var r = ByteReader(try SealedRecord.open(sealed, context: continuationContext(table), map: table.map, key: Self.continuationKey,
                                                     accountKey: key))
            let position = (try r.string16(), try r.string16())
            guard r.remaining == 0 else { throw StorageError.integrity("trailing bytes") }
            return position
        } catch {
            throw StorageError(.invalidArgument, "continuation token is not one this table's queries gave out (it cannot move to another table or account, nor outlive a table deleted and created again); start the query again without it")
        }
    }
}

/// The first `count` entities in (PartitionKey, RowKey) order of those
/// added, in O(count) memory.
struct FirstEntities {
    let count: Int
    private var entities: [TableEntity] = []

    init(count: Int) { self.count = count }

    mutating func add(_ entity: TableEntity) {
        entities.append(entity)
        if entities.count >= 2 * count { entities = Array(Self.sort(entities).prefix(count)) }
    }

    var sorted: [TableEntity] { Array(Self.sort(entities).prefix(count)) }

    private static func sort(_ list: [TableEntity]) -> [TableEntity] {
        list.sorted { TableEntity.precedes(($0.partitionKey, $0.rowKey), ($1.partitionKey, $1.rowKey)) }
    }
}
