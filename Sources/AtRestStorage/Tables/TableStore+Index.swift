import AtRestCrypto

/// Queries of one partition through its RowKey index (docs/FORMAT.md
/// "Tables", "Partition index"): a sealed cache of (RowKey, row hash)
/// pairs in RowKey order, so a page decrypts the entities it returns (and
/// the few written since the index was last brought up to date), not the
/// whole partition.
///
/// The index decides nothing about which entities exist: that is always the
/// key listing of the partition's range (`e-<P>-…`, keys only). A pair is
/// true forever (the row hash is a function of the RowKey), so an index of
/// any age, or chunks of two generations, give correct pages; what the
/// listing has and the index lacks is opened to learn its RowKey, and what
/// the index has and the listing lacks (deleted) is skipped. A query that
/// opened many such entities writes the index again (one batch, conditional
/// on the first chunk it read); a lost race or a failed write only leaves
/// the work for the next query.
extension TableStore {
    /// Index chunks hold at most this many bytes of entries before sealing.
    static let indexChunkBytes = 96 << 10
    /// At most this many chunks (one batch writes them all): past that, the
    /// rest of a partition stays out of the index and is opened per query.
    static let maxIndexChunks = 200
    /// Entities per fetch while a page is filled.
    static let fetchStep = 256

    /// The key prefix of a partition's index chunks: `i-<P>-`.
    func indexPrefix(_ partitionPrefix: String) -> String { "i-" + partitionPrefix.dropFirst(2) }

    /// The key of chunk `index` (two hex digits).
    private func chunkKey(_ chunkPrefix: String, _ index: Int) -> String { chunkPrefix + MessageRecord.hex16(Int64(index)).suffix(2) }

    private func indexContext(_ table: Table) -> [UInt8] { SealedRecord.context(["entity-index", table.account, table.hexID]) }

    /// Up to `top` + 1 entities of partition `partitionKey` matching `filter`, after `after`, in RowKey order.
    func partitionPage(_ table: Table, _ partitionKey: String, filter: TableFilter?, top: Int, after: (String, String)?,
                       _ key: AccountKey) async throws -> [TableEntity] {
        if let after, after.0.utf8.lexicographicallyPrecedes(partitionKey.utf8) == false, after.0 != partitionKey { return [] }
        let prefix = try partitionPrefix(table, partitionKey, key)
        let live = try await partitionKeys(table, prefix)
        guard !live.isEmpty else { return [] }
        let (indexed, firstChunk, chunkKeys) = try await readIndex(table, prefix, key)

        // Row hashes the index does not know: open them to learn their RowKeys.
        var rows: [(rowKey: String, main: String)] = []
        rows.reserveCapacity(live.count)
        var unknown: [String] = []
        for (main, _) in live {
            if let rowKey = indexed[main.dropFirst(prefix.utf8.count)] { rows.append((rowKey, main)) } else { unknown.append(main) }
        }
        var opened: [String: TableEntity] = [:]
        for start in stride(from: 0, to: unknown.count, by: Self.fetchStep) {
            let mains = Array(unknown[start..<min(unknown.count, start + Self.fetchStep)])
            for (main, entity) in try await fetch(table, mains, live, partitionKey, prefix, key) {
                rows.append((entity.rowKey, main))
                opened[main] = entity
            }
        }
        rows.sort { $0.rowKey.utf8.lexicographicallyPrecedes($1.rowKey.utf8) }
        let stale = indexed.count - (live.count - unknown.count)
        if unknown.count + stale >= max(32, live.count / 32) {
            await writeIndex(table, prefix, rows, replacing: firstChunk, chunkKeys, key)
        }

        // The page: candidates after the continuation point, fetched a step at a time until top + 1 match.
        var next = 0
        if let after, after.0 == partitionKey {
            var (low, high) = (0, rows.count)  // the first row after the continuation point
            while low < high {
                let middle = (low + high) / 2
                if after.1.utf8.lexicographicallyPrecedes(rows[middle].rowKey.utf8) { high = middle } else { low = middle + 1 }
            }
            next = low
        }
        var out: [TableEntity] = []
        while out.count <= top && next < rows.count {
            let step = rows[next..<min(rows.count, next + max(Self.fetchStep, top + 1 - out.count))]
            next = step.endIndex
            let missing = step.map(\.main).filter { opened[$0] == nil }
            for (main, entity) in try await fetch(table, missing, live, partitionKey, prefix, key) { opened[main] = entity }
            for row in step {
                guard let entity = opened[row.main] else { continue }  // deleted since it was listed
                guard entity.rowKey == row.rowKey else { throw StorageError.integrity("partition index of table map \(table.map) names another RowKey") }
                if filter?.matches(entity) ?? true { out.append(entity) }
                if out.count > top { break }
            }
        }
        return out
    }

    /// The main keys of the partition with prefix `prefix` and the piece keys listed with each, keys only.
    private func partitionKeys(_ table: Table, _ prefix: String) async throws -> [String: [String]] {
        var live: [String: [String]] = [:], after = prefix
        listing: while true {
            let page: (keys: [String], more: Bool)
            do {
                page = try await backend.recordKeys(table.map, after: after, limit: 1000)
            } catch let error as StorageError where error.code == .notFound {
                throw Self.tableNotFound(table.account, table.record.name)
            }
            for key in page.keys {
                guard key.hasPrefix(prefix) else { break listing }
                if EntityRecord.isPieceKey(key) {
                    live[String(key.dropLast(3)), default: []].append(key)
                } else if live[key] == nil {
                    live[key] = []
                }
            }
            guard page.more, let last = page.keys.last else { break }
            after = last
        }
        return live
    }

    /// The entities under `mains` (with their listed pieces), opened and checked to be of `partitionKey`; absent ones left out.
    private func fetch(_ table: Table, _ mains: [String], _ live: [String: [String]], _ partitionKey: String, _ prefix: String,
                       _ key: AccountKey) async throws -> [(String, TableEntity)] {
        var out: [(String, TableEntity)] = []
        var start = 0
        while start < mains.count {
            var keys: [String] = [], end = start
            while end < mains.count, keys.count + 1 + (live[mains[end]]?.count ?? 0) <= 1000 {
                keys.append(mains[end])
                keys += live[mains[end]] ?? []
                end += 1
            }
            let found: [String: [UInt8]]
            do {
                found = try await backend.records(table.map, keys: keys)
            } catch let error as StorageError where error.code == .notFound {
                throw Self.tableNotFound(table.account, table.record.name)
            }
            for main in mains[start..<end] {
                guard let value = found[main] else { continue }
                let entity = try open(table, main, value, key, partition: (partitionKey, prefix)) { found[$0] }.entity
                guard entity.partitionKey == partitionKey else { throw StorageError.integrity("entity record \(main) names another partition") }
                out.append((main, entity))
            }
            start = end
        }
        return out
    }

    /// The index of the partition: RowKey by row hash, the first chunk's sealed bytes (what a rewrite is conditional on) and every chunk's key.
    private func readIndex(_ table: Table, _ prefix: String, _ key: AccountKey) async throws
        -> (rows: [Substring: String], first: [UInt8]?, keys: [String]) {
        let chunkPrefix = indexPrefix(prefix)
        let found: [String: [UInt8]]
        do {
            found = try await backend.records(table.map, keys: (0..<Self.maxIndexChunks).map { chunkKey(chunkPrefix, $0) })
        } catch let error as StorageError where error.code == .notFound {
            throw Self.tableNotFound(table.account, table.record.name)
        }
        var rows: [Substring: String] = [:], keys: [String] = []
        for (chunkKey, value) in found.sorted(by: { $0.key < $1.key }) {
            keys.append(chunkKey)
            var r = ByteReader(try SealedRecord.open(value, context: indexContext(table), map: table.map, key: chunkKey, accountKey: key))
            guard try r.u8() == 1 else { throw StorageError(.unsupportedFormat, "partition index chunk version") }
            for _ in 0..<(try r.u32()) {
                let hash = Hex.encode(try r.take(20))
                rows[Substring(hash)] = try r.string16()
            }
            guard r.remaining == 0 else { throw StorageError.integrity("partition index chunk \(chunkKey) has trailing bytes") }
        }
        let first = found[chunkKey(chunkPrefix, 0)]
        return (rows, first, keys)
    }

    /// Writes `rows` (sorted) as the partition's index in place of chunks `old`, if the first chunk is still `first`; errors are dropped (a cache).
    private func writeIndex(_ table: Table, _ prefix: String, _ rows: [(rowKey: String, main: String)], replacing first: [UInt8]?,
                            _ old: [String], _ key: AccountKey) async {
        do {
            let chunkPrefix = indexPrefix(prefix)
            var chunks: [[UInt8]] = [], w = ByteWriter(), count: UInt32 = 0, bytes = 0
            func close() {
                var chunk = ByteWriter(capacity: 5 + w.bytes.count)
                chunk.u8(1)
                chunk.u32(count)
                chunk.raw(w.bytes)
                chunks.append(chunk.bytes)
                (w, count, bytes) = (ByteWriter(), 0, 0)
            }
            for row in rows {
                let entry = 20 + 2 + row.rowKey.utf8.count
                if bytes + entry > Self.indexChunkBytes {
                    close()
                    if chunks.count == Self.maxIndexChunks { break }
                }
                guard let hash = Hex.decode(String(row.main.utf8.dropFirst(prefix.utf8.count))!), hash.count == 20 else { return }
                w.raw(hash)
                try w.bytes16(Array(row.rowKey.utf8), field: "RowKey")
                count += 1
                bytes += entry
            }
            if count > 0 && chunks.count < Self.maxIndexChunks { close() }
            let firstKey = chunkKey(chunkPrefix, 0)
            var batch = RecordBatch(conditions: [first.map { .equals(firstKey, $0) } ?? .absent(firstKey)])
            for (i, chunk) in chunks.enumerated() {
                let key0 = chunkKey(chunkPrefix, i)
                batch.sets[key0] = try SealedRecord.seal(chunk, context: indexContext(table), map: table.map, key: key0, accountKey: key)
            }
            batch.removes = old.filter { batch.sets[$0] == nil }
            guard !batch.sets.isEmpty || !batch.removes.isEmpty else { return }
            try await backend.apply(batch, to: table.map)
        } catch {
            return  // another query rewrote it first, the table went away, or the write failed: the next query tries again
        }
    }
}
