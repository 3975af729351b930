import AtRestCrypto

/// Writing and reading entities: every write, single or batched, is one
/// record batch conditional on the records it read.
extension TableStore {
    /// `.alreadyExists` when the entity is there.
    public func insert(account: String, table: String, entity: TableEntity, accountKey: AccountKey) async throws -> TableEntity {
        try await single(account, table, TableOperation(.insert, entity), accountKey)
    }

    /// Replaces every property; `.notFound` when absent, `.conditionFailed` when `ifMatch` (an ETag, or "*") is stale.
    public func replace(account: String, table: String, entity: TableEntity, ifMatch: String, accountKey: AccountKey) async throws -> TableEntity {
        try await single(account, table, TableOperation(.replace, entity, ifMatch: ifMatch), accountKey)
    }

    /// Sets the given properties and keeps the others; `.notFound`, `.conditionFailed` as `replace`.
    public func merge(account: String, table: String, entity: TableEntity, ifMatch: String, accountKey: AccountKey) async throws -> TableEntity {
        try await single(account, table, TableOperation(.merge, entity, ifMatch: ifMatch), accountKey)
    }

    public func insertOrReplace(account: String, table: String, entity: TableEntity, accountKey: AccountKey) async throws -> TableEntity {
        try await single(account, table, TableOperation(.insertOrReplace, entity), accountKey)
    }

    public func insertOrMerge(account: String, table: String, entity: TableEntity, accountKey: AccountKey) async throws -> TableEntity {
        try await single(account, table, TableOperation(.insertOrMerge, entity), accountKey)
    }

    /// `.notFound` when absent, `.conditionFailed` when `ifMatch` is stale.
    public func deleteEntity(account: String, table: String, partitionKey: String, rowKey: String, ifMatch: String,
                             accountKey: AccountKey) async throws {
        let entity = TableEntity(partitionKey: partitionKey, rowKey: rowKey)
        _ = try await execute(account, table, [TableOperation(.delete, entity, ifMatch: ifMatch)], accountKey)
    }

    /// Up to 100 writes to one partition (each RowKey once), applied all
    /// or none; the entities as stored (nil for a delete), in order. An
    /// operation that cannot apply fails the batch, its index named.
    public func batch(account: String, table: String, operations: [TableOperation], accountKey: AccountKey) async throws -> [TableEntity?] {
        try await execute(account, table, operations, accountKey)
    }

    /// The entity, with only the `select`ed properties when given; `.notFound`.
    public func get(account: String, table name: String, partitionKey: String, rowKey: String, select: [String]? = nil,
                    accountKey: AccountKey) async throws -> TableEntity {
        try TableLimits.validate(key: partitionKey, "PartitionKey")
        try TableLimits.validate(key: rowKey, "RowKey")
        return try await onTable(account, name, accountKey) { table in
            let main = try entityKey(table, partitionKey, rowKey, accountKey)
            guard let stored = try await read(table, [main], accountKey)[main] else {
                throw StorageError(.notFound, "\(Self.describe(partitionKey, rowKey)) does not exist in table '\(name)'")
            }
            return stored.entity.selecting(select)
        }
    }

    // MARK: The write path

    /// An entity as read: its main record's bytes (what a write is conditional on) and piece count.
    struct Stored: Sendable {
        var entity: TableEntity
        var mainValue: [UInt8]
        var pieces: Int
    }

    private func single(_ account: String, _ table: String, _ operation: TableOperation, _ key: AccountKey) async throws -> TableEntity {
        try await execute(account, table, [operation], key)[0]!
    }

    /// How often a write is checked again after other callers changed its rows first.
    static let writeAttempts = 16

    func execute(_ account: String, _ name: String, _ operations: [TableOperation], _ key: AccountKey) async throws -> [TableEntity?] {
        try Self.validate(operations)
        return try await onTable(account, name, key) { table in try await execute(table, name, operations, key) }
    }

    private func execute(_ table: Table, _ name: String, _ operations: [TableOperation], _ key: AccountKey) async throws -> [TableEntity?] {
        let account = table.account
        let mains = try operations.map { try entityKey(table, $0.entity.partitionKey, $0.entity.rowKey, key) }
        for _ in 0..<Self.writeAttempts {
            let current = try await read(table, mains, key)
            var batch = RecordBatch(), results: [TableEntity?] = []
            for (index, operation) in operations.enumerated() {
                do {
                    results.append(try plan(operation, mains[index], current[mains[index]], table, key, into: &batch))
                } catch let error as StorageError where operations.count > 1 {
                    throw StorageError(error.code, "operation \(index) (\(operation.kind.rawValue)): \(error.message)")
                }
            }
            // The rows this write creates, when many: a delta of their RowKeys for the partition's next query.
            let created = operations.indices.filter { current[mains[$0]] == nil && results[$0] != nil }
            try addDelta(created.map { IndexRow(rowKey: operations[$0].entity.rowKey, main: mains[$0]) }, table,
                         operations[0].entity.partitionKey, key, to: &batch)
            guard batch.sets.count + batch.removes.count <= RecordBatch.maxChanges else {
                throw StorageError(.invalidArgument, "this batch changes \(batch.sets.count + batch.removes.count) records (an entity takes one per 128 KiB); at most \(RecordBatch.maxChanges) change in one atomic step: split it")
            }
            do {
                try await backend.apply(batch, to: table.map)
                return results
            } catch let error as StorageError where error.code == .conditionFailed {
                continue  // another caller changed a row since it was read: check again on what is there now
            } catch let error as StorageError where error.code == .notFound {
                throw Self.tableNotFound(account, name)
            }
        }
        throw StorageError(.unavailable, "the entities of this write kept changing under other writers (\(Self.writeAttempts) attempts); try again")
    }

    /// Checks one operation against the entity as read and adds its changes to `batch`; the entity it stores.
    private func plan(_ operation: TableOperation, _ main: String, _ current: Stored?, _ table: Table, _ key: AccountKey,
                      into batch: inout RecordBatch) throws -> TableEntity? {
        let entity = operation.entity
        let described = Self.describe(entity.partitionKey, entity.rowKey)
        var next: TableEntity?
        switch operation.kind {
        case .insert:
            guard current == nil else { throw StorageError(.alreadyExists, "\(described) already exists in table '\(table.record.name)'") }
            next = entity
        case .replace, .merge, .delete:
            guard let current else { throw StorageError(.notFound, "\(described) does not exist in table '\(table.record.name)'") }
            let etag = current.entity.etag
            guard operation.ifMatch == "*" || operation.ifMatch == etag else {
                throw StorageError(.conditionFailed, "\(described) has ETag \(etag) now, not \(operation.ifMatch): it changed since it was read; get it again, or pass If-Match '*'")
            }
            next = operation.kind == .delete ? nil : operation.kind == .merge ? Self.merged(current.entity, entity) : entity
        case .insertOrReplace:
            next = entity
        case .insertOrMerge:
            next = current.map { Self.merged($0.entity, entity) } ?? entity
        }
        batch.conditions.append(current.map { .equals(main, $0.mainValue) } ?? .absent(main))
        var sets: [String: [UInt8]] = [:]
        if var stored = next {
            stored.etag = Hex.encode(try SecureRandom.bytes(EntityRecord.etagSize))
            stored.timestamp = clock() * 1000
            try TableLimits.validate(stored)
            let sealed = try SealedRecord.seal(try EntityRecord.encode(stored), context: table.entityContext, map: table.map, key: main,
                                               accountKey: key)
            sets = EntityRecord.records(main: main, sealed: sealed)
            next = stored
        }
        batch.sets.merge(sets) { new, _ in new }
        if let current {
            batch.removes += ([main] + EntityRecord.pieceKeys(main: main, count: current.pieces)).filter { sets[$0] == nil }
        }
        return next
    }

    /// `current`'s properties with `changes`' set over them.
    static func merged(_ current: TableEntity, _ changes: TableEntity) -> TableEntity {
        var out = changes
        out.properties = current.properties.merging(changes.properties) { _, new in new }
        return out
    }

    /// What can be checked before reading: counts, keys, one partition, each row once, If-Match where it belongs.
    static func validate(_ operations: [TableOperation]) throws {
        guard (1...TableLimits.maxBatchOperations).contains(operations.count) else {
            throw StorageError(.invalidArgument, "a batch holds 1-\(TableLimits.maxBatchOperations) operations, not \(operations.count)")
        }
        for operation in operations {
            let entity = operation.entity
            try TableLimits.validate(key: entity.partitionKey, "PartitionKey")
            try TableLimits.validate(key: entity.rowKey, "RowKey")
            if operation.kind != .delete { try TableLimits.validate(entity) }
            switch operation.kind {
            case .replace, .merge, .delete:
                guard operation.ifMatch == "*" || (operation.ifMatch.utf8.count == 2 * EntityRecord.etagSize && Hex.decode(operation.ifMatch) != nil) else {
                    throw StorageError(.invalidArgument, operation.ifMatch.isEmpty
                        ? "\(operation.kind.rawValue) needs If-Match: the entity's ETag, or '*' for any version"
                        : "If-Match '\(operation.ifMatch.prefix(80))' is neither an ETag (32 hex digits) nor '*'")
                }
            case .insert, .insertOrReplace, .insertOrMerge:
                guard operation.ifMatch.isEmpty else { throw StorageError(.invalidArgument, "\(operation.kind.rawValue) takes no If-Match") }
            }
        }
        let partition = operations[0].entity.partitionKey
        guard operations.allSatisfy({ $0.entity.partitionKey == partition }) else {
            throw StorageError(.invalidArgument, "a batch writes to one partition: every operation needs PartitionKey '\(partition.prefix(80))'")
        }
        guard Set(operations.map(\.entity.rowKey)).count == operations.count else {
            throw StorageError(.invalidArgument, "a batch names each RowKey at most once")
        }
    }

    /// The entities stored under the main keys `mains` (absent ones left out), opened and checked.
    func read(_ table: Table, _ mains: [String], _ key: AccountKey) async throws -> [String: Stored] {
        let found: [String: [UInt8]]
        do {
            found = try await backend.records(table.map, keys: mains.flatMap { EntityRecord.keys(main: $0) })
        } catch let error as StorageError where error.code == .notFound {
            throw Self.tableNotFound(table.account, table.record.name)
        }
        var out: [String: Stored] = [:]
        for main in mains {
            guard let value = found[main] else { continue }
            out[main] = try open(table, main, value, key) { found[$0] }
        }
        return out
    }

    /// An entity from its main record and its pieces; it must hash to `main`.
    /// `partition` (its key and key prefix, when the caller has them) spares hashing the PartitionKey again.
    func open(_ table: Table, _ main: String, _ value: [UInt8], _ key: AccountKey, partition: (key: String, prefix: String)? = nil,
              pieces: (String) -> [UInt8]?) throws -> Stored {
        let sealed = try EntityRecord.join(main: main, value: value, pieces: pieces)
        let entity = try EntityRecord.decode(try SealedRecord.open(sealed, context: table.entityContext, map: table.map, key: main, accountKey: key))
        let expected = if let partition, partition.key == entity.partitionKey {
            try partition.prefix + rowHash(table, entity.partitionKey, entity.rowKey, key)
        } else {
            try entityKey(table, entity.partitionKey, entity.rowKey, key)
        }
        guard expected == main else {
            throw StorageError.integrity("entity record \(main) names another entity")
        }
        return Stored(entity: entity, mainValue: value, pieces: Int(value[0]))
    }
}
