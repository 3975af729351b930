import AtRestCrypto

/// Index deltas (docs/FORMAT.md "Tables", "Index deltas"): a batch that
/// creates many rows of a partition also writes their (RowKey, row hash)
/// pairs, sealed, as one record beside them, so the partition's next query
/// takes those rows' places from one small record instead of learning each
/// from its entity (TableStore+RowKeys). A bulk load of 100-row batches
/// writes one delta per 100 entities; single writes write none.
///
/// A delta is what an index chunk is, for the rows of one batch: the same
/// encoding and seal (context ("entity-index", account, table id), AAD
/// naming the map and the record's key), a cache that decides nothing about
/// which rows exist (the partition's key listing does). The query that
/// writes the partition's index folds every delta it read into it and
/// removes them; a delta whose rows were deleted since is only read and
/// dropped. Keys `i-<P>-x<16 hex>`: inside the index's key range, so
/// re-encryption and recovery treat them as index records, and never a
/// chunk's (`i-<P>-<2 hex>`: two hex digits).
extension TableStore {
    /// A batch that creates at least this many rows writes a delta (fewer cost a record for little).
    static let deltaMinimumRows = 16

    /// The key prefix of partition `partitionPrefix`'s deltas: `i-<P>-x`.
    func deltaPrefix(_ partitionPrefix: String) -> String { indexPrefix(partitionPrefix) + "x" }

    /// Adds to `batch` a delta of `rows` (the rows a write creates in partition `partitionKey`: their RowKeys and main
    /// keys) when there are enough of them and the batch has room for one more record.
    func addDelta(_ rows: [IndexRow], _ table: Table, _ partitionKey: String, _ key: AccountKey, to batch: inout RecordBatch) throws {
        guard rows.count >= Self.deltaMinimumRows, batch.sets.count + batch.removes.count < RecordBatch.maxChanges else { return }
        let prefix = try partitionPrefix(table, partitionKey, key)
        guard let record = try Self.indexRecord(rows[...], prefix) else { return }
        let deltaKey = deltaPrefix(prefix) + Hex.encode(try SecureRandom.bytes(8))
        batch.sets[deltaKey] = try SealedRecord.seal(record, context: indexContext(table), map: table.map, key: deltaKey, accountKey: key)
    }

    /// The partition's deltas: the rows they name (in no particular order, possibly a row more than once) and their keys.
    func readDeltas(_ table: Table, _ prefix: String, _ key: AccountKey) async throws -> (rows: [IndexRow], keys: [String]) {
        let start = deltaPrefix(prefix)
        var rows: [IndexRow] = [], keys: [String] = [], after = start
        listing: while true {
            let page = try await backend.records(table.map, after: after, limit: 1000)
            for record in page.records {
                guard record.key.hasPrefix(start) else { break listing }
                rows += try indexRows(record.value, at: record.key, table, prefix, key)
                keys.append(record.key)
            }
            guard page.more, let last = page.records.last else { break }
            after = last.key
        }
        return (rows, keys)
    }

    /// Splits `unknown` (main keys in key order) into the rows `deltaRows` name, with their RowKeys, and the rest.
    static func placed(_ unknown: [String], by deltaRows: [IndexRow]) -> (placed: [IndexRow], rest: [String]) {
        guard !deltaRows.isEmpty else { return ([], unknown) }
        let byMain = IndexRow.sortedInByteOrder(deltaRows, by: \.main)
        var placed: [IndexRow] = [], rest: [String] = [], j = 0
        for main in unknown {
            var order = 1
            while j < byMain.count {
                order = IndexRow.order(byMain[j].main, main)
                if order >= 0 { break }
                j += 1
            }
            if j < byMain.count && order == 0 {
                placed.append(byMain[j])
                j += 1
            } else {
                rest.append(main)
            }
        }
        return (placed, rest)
    }

    /// One index record's plaintext (a chunk or a delta): u8 version 1 ‖ u32 count ‖ count × (20-byte row hash ‖
    /// RowKey (u16 length ‖ UTF-8)); nil when a main key is not `prefix` and 40 hex digits.
    static func indexRecord(_ rows: ArraySlice<IndexRow>, _ prefix: String) throws -> [UInt8]? {
        var w = ByteWriter()
        w.u8(1)
        w.u32(UInt32(rows.count))
        for row in rows {
            guard let hash = Hex.decode(String(row.main.utf8.dropFirst(prefix.utf8.count))!), hash.count == 20 else { return nil }
            w.raw(hash)
            try w.bytes16(Array(row.rowKey.utf8), field: "RowKey")
        }
        return w.bytes
    }

    /// The rows of one sealed index record (a chunk or a delta) stored at `recordKey`.
    func indexRows(_ value: [UInt8], at recordKey: String, _ table: Table, _ prefix: String, _ key: AccountKey) throws -> [IndexRow] {
        var r = ByteReader(try SealedRecord.open(value, context: indexContext(table), map: table.map, key: recordKey, accountKey: key))
        guard try r.u8() == 1 else { throw StorageError(.unsupportedFormat, "partition index record version") }
        let count = Int(try r.u32())
        var rows: [IndexRow] = []
        rows.reserveCapacity(min(count, r.remaining / 22))
        for _ in 0..<count {
            let hash = Hex.encode(try r.take(20))
            rows.append(IndexRow(rowKey: try r.string16(), main: prefix + hash))
        }
        guard r.remaining == 0 else { throw StorageError.integrity("partition index record \(recordKey) has trailing bytes") }
        return rows
    }
}
