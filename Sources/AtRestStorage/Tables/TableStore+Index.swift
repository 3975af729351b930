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
/// listing has and the index lacks is placed by the delta its batch wrote
/// (TableStore+Deltas) or read to learn its RowKey (the first bytes of the
/// entity, checked against its key: TableStore+RowKeys), and what
/// the index has and the listing lacks (deleted) is skipped. A query that
/// met many such rows writes the index again (one batch, conditional
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
    /// A fetch of more entities than this is split once, in two halves read and opened concurrently,
    /// so the entities of a page take both cores of a small machine rather than one.
    static let parallelFetch = 128

    /// The key prefix of a partition's index chunks: `i-<P>-`.
    func indexPrefix(_ partitionPrefix: String) -> String { "i-" + partitionPrefix.dropFirst(2) }

    /// The key of chunk `index` (two hex digits).
    private func chunkKey(_ chunkPrefix: String, _ index: Int) -> String { chunkPrefix + MessageRecord.hex16(Int64(index)).suffix(2) }

    func indexContext(_ table: Table) -> [UInt8] { SealedRecord.context(["entity-index", table.account, table.hexID]) }

    /// Up to `top` + 1 entities of partition `partitionKey` matching `filter`, after `after`, in RowKey order.
    func partitionPage(_ table: Table, _ partitionKey: String, filter: TableFilter?, top: Int, after: (String, String)?,
                       _ key: AccountKey) async throws -> [TableEntity] {
        if let after, after.0.utf8.lexicographicallyPrecedes(partitionKey.utf8) == false, after.0 != partitionKey { return [] }
        let prefix = try partitionPrefix(table, partitionKey, key)
        let listed = try await listing(table, prefix, key)
        let (live, index) = (listed.live, listed.index)
        guard !live.isEmpty else { return [] }

        // Rows the index does not know: placed by the deltas of the batches that wrote them (TableStore+Deltas), the
        // rest by their RowKeys from the first bytes of their entities (TableStore+RowKeys).
        let (unknown, known) = (listed.unknown, listed.known)
        let deltas: (rows: [IndexRow], keys: [String]) = unknown.isEmpty ? ([], []) : try await readDeltas(table, prefix, key)
        let (placed, rest) = Self.placed(unknown, by: deltas.rows)
        let learned = try await learnRowKeys(table, rest, partitionSize: live.count, partitionKey, prefix, key)
        var opened: [String: TableEntity] = [:]
        // Every candidate in RowKey order: the index's rows (already in order) merged with the ones just placed.
        // An indexed row the listing lacks (deleted) stays a candidate and is skipped below, unfetched.
        let indexed = index?.rows ?? []
        let added = placed + learned
        let rows = added.isEmpty ? indexed : Self.merge(indexed, IndexRow.sortedInByteOrder(added, by: \.rowKey))
        let stale = indexed.count - known
        // Written while the page's entities are fetched, and done before the page returns (so the next page,
        // on whichever worker, finds it). It takes in the deltas read, and removes them.
        async let written: Void = unknown.count + stale >= max(32, live.count / 32)
            ? writeIndex(table, prefix, rows.filter { live.contains($0.main) }, replacing: index, deltas: deltas.keys, key) : ()

        // The page: candidates after the continuation point, fetched a step at a time until top + 1 match.
        var next = 0
        if let after, after.0 == partitionKey {
            var (low, high) = (0, rows.count)  // the first row after the continuation point
            while low < high {
                let middle = (low + high) / 2
                if IndexRow.precedes(after.1, rows[middle].rowKey) { high = middle } else { low = middle + 1 }
            }
            next = low
        }
        var out: [TableEntity] = []
        while out.count <= top && next < rows.count {
            let step = rows[next..<min(rows.count, next + max(Self.fetchStep, top + 1 - out.count))]
            next = step.endIndex
            let missing = step.map(\.main).filter { opened[$0] == nil && live.contains($0) }
            for (main, entity) in try await fetch(table, missing, live, partitionKey, prefix, key) { opened[main] = entity }
            for row in step {
                guard let entity = opened[row.main] else { continue }  // deleted (since it was listed, or before)
                guard entity.rowKey == row.rowKey else { throw StorageError.integrity("partition index of table map \(table.map) names another RowKey") }
                if filter?.matches(entity) ?? true { out.append(entity) }
                if out.count > top { break }
            }
        }
        await written
        return out
    }

    /// Two lists of rows in RowKey order, as one.
    static func merge(_ a: [IndexRow], _ b: [IndexRow]) -> [IndexRow] {
        var out: [IndexRow] = []
        out.reserveCapacity(a.count + b.count)
        var (i, j) = (0, 0)
        while i < a.count && j < b.count {
            if IndexRow.inOrder(b[j], a[i]) { out.append(b[j]); j += 1 } else { out.append(a[i]); i += 1 }
        }
        out += a[i...]
        out += b[j...]
        return out
    }

    /// The partition's key listing and index, and the listed rows the index lacks: from the listing cache while
    /// nothing was committed to the table's map since they were read (`PartitionListingCache`), else read.
    private func listing(_ table: Table, _ prefix: String, _ key: AccountKey) async throws -> PartitionListingCache.Entry {
        let cacheKey = PartitionIndexCache.Key(map: table.map, prefix: prefix, keyCheck: key.checkValue)
        let change: UInt64?
        do {
            change = try await backend.recordMapChangeCount(table.map)  // before anything is read: what the entry holds for
        } catch let error as StorageError where error.code == .notFound {
            throw Self.tableNotFound(table.account, table.record.name)
        }
        if let cached = listings.entry(cacheKey, at: change) { return cached }
        async let indexRead = readIndex(table, prefix, key)  // while the keys are listed
        let live = try await partitionKeys(table, prefix)
        let index = try await indexRead
        let (unknown, known) = live.unknown(to: index?.mains ?? [])
        let entry = PartitionListingCache.Entry(change: change ?? 0, live: live, index: index, unknown: unknown, known: known)
        if change != nil { listings.store(entry, for: cacheKey) }
        return entry
    }

    /// The main keys of the partition with prefix `prefix` and the piece keys listed with each, keys only.
    private func partitionKeys(_ table: Table, _ prefix: String) async throws -> PartitionListing {
        var live = PartitionListing(), after = prefix
        listing: while true {
            let page: (keys: [String], more: Bool)
            do {
                page = try await backend.recordKeys(table.map, after: after, limit: 1000)
            } catch let error as StorageError where error.code == .notFound {
                throw Self.tableNotFound(table.account, table.record.name)
            }
            for key in page.keys {
                guard key.hasPrefix(prefix) else { break listing }
                live.add(key)
            }
            guard page.more, let last = page.keys.last else { break }
            after = last
        }
        live.finish()
        return live
    }

    /// The entities under `mains` (with their listed pieces), opened and checked to be of `partitionKey`; absent ones left out.
    private func fetch(_ table: Table, _ mains: [String], _ live: PartitionListing, _ partitionKey: String, _ prefix: String,
                       _ key: AccountKey, split: Bool = true) async throws -> [(String, TableEntity)] {
        if split && mains.count > Self.parallelFetch {
            let half = mains.count / 2
            async let first = fetch(table, Array(mains[..<half]), live, partitionKey, prefix, key, split: false)
            let second = try await fetch(table, Array(mains[half...]), live, partitionKey, prefix, key, split: false)
            return try await first + second
        }
        var out: [(String, TableEntity)] = []
        var start = 0
        while start < mains.count {
            var keys: [String] = [], end = start
            while end < mains.count, keys.count + 1 + live.pieces(of: mains[end]).count <= 1000 {
                keys.append(mains[end])
                keys += live.pieces(of: mains[end])
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

    /// The index of the partition, or nil when it has none: from the cache while chunk 00 is unchanged, else read and opened.
    private func readIndex(_ table: Table, _ prefix: String, _ key: AccountKey) async throws -> PartitionIndexCache.Entry? {
        let chunkPrefix = indexPrefix(prefix), firstKey = chunkKey(chunkPrefix, 0)
        let cacheKey = PartitionIndexCache.Key(map: table.map, prefix: prefix, keyCheck: key.checkValue)
        let cached = indexes[cacheKey]
        func read(_ keys: [String]) async throws -> [String: [UInt8]] {
            do {
                return try await backend.records(table.map, keys: keys)
            } catch let error as StorageError where error.code == .notFound {
                throw Self.tableNotFound(table.account, table.record.name)
            }
        }
        if let cached {
            let first = try await read([firstKey])[firstKey]
            if first == cached.first { return cached }
            guard first != nil else {
                indexes[cacheKey] = nil
                return nil
            }
        }
        let found = try await read((0..<Self.maxIndexChunks).map { chunkKey(chunkPrefix, $0) })
        guard let first = found[firstKey] else {
            indexes[cacheKey] = nil
            return nil  // none (chunks without a chunk 00 are left over: the next rewrite removes them)
        }
        var rows: [IndexRow] = [], keys: [String] = []
        for (chunkKey, value) in found.sorted(by: { $0.key < $1.key }) {
            keys.append(chunkKey)
            rows += try indexRows(value, at: chunkKey, table, prefix, key)
        }
        // Written in order, each row once; chunks of two generations (put together by someone with storage access)
        // need not be either, and a row twice would be a candidate twice: returned twice in a page.
        rows = IndexRow.inRowKeyOrder(rows)  // and each once: the entry sees to that
        let entry = PartitionIndexCache.Entry(first: first, chunkKeys: keys, rows: rows)
        indexes[cacheKey] = entry
        return entry
    }

    /// Writes `rows` (sorted) as the partition's index in place of `old`, if its chunk 00 is unchanged; errors are dropped (a cache).
    private func writeIndex(_ table: Table, _ prefix: String, _ rows: [IndexRow], replacing old: PartitionIndexCache.Entry?,
                            deltas: [String], _ key: AccountKey) async {
        do {
            let chunkPrefix = indexPrefix(prefix)
            // The rows in chunks of at most `indexChunkBytes` of entries, at most `maxIndexChunks` of them.
            var slices: [ArraySlice<IndexRow>] = [], start = 0, bytes = 0
            for (i, row) in rows.enumerated() {
                let entry = 20 + 2 + row.rowKey.utf8.count
                if bytes + entry > Self.indexChunkBytes {
                    slices.append(rows[start..<i])
                    (start, bytes) = (i, 0)
                    if slices.count == Self.maxIndexChunks { break }
                }
                bytes += entry
            }
            if start < rows.count && slices.count < Self.maxIndexChunks { slices.append(rows[start...]) }
            let indexed = slices.reduce(0) { $0 + $1.count }
            var chunks: [[UInt8]] = []
            for slice in slices {
                guard let chunk = try Self.indexRecord(slice, prefix) else { return }
                chunks.append(chunk)
            }
            let firstKey = chunkKey(chunkPrefix, 0)
            var batch = RecordBatch(conditions: [old.map { .equals(firstKey, $0.first) } ?? .absent(firstKey)])
            for (i, chunk) in chunks.enumerated() {
                let key0 = chunkKey(chunkPrefix, i)
                batch.sets[key0] = try SealedRecord.seal(chunk, context: indexContext(table), map: table.map, key: key0, accountKey: key)
            }
            batch.removes = (old?.chunkKeys ?? []).filter { batch.sets[$0] == nil }
            // The deltas taken in: with the index when they fit in its batch, else after it (a delta removed
            // without its rows indexed would only make the next query learn them).
            let room = max(0, RecordBatch.maxChanges - batch.sets.count - batch.removes.count)
            batch.removes += deltas.prefix(room)
            guard !batch.sets.isEmpty || !batch.removes.isEmpty else { return }
            try await backend.apply(batch, to: table.map)
            for start in stride(from: room, to: deltas.count, by: RecordBatch.maxChanges) {
                try await backend.apply(RecordBatch(removes: Array(deltas[start..<min(deltas.count, start + RecordBatch.maxChanges)])),
                                        to: table.map)
            }
            let cacheKey = PartitionIndexCache.Key(map: table.map, prefix: prefix, keyCheck: key.checkValue)
            indexes[cacheKey] = batch.sets[firstKey].map {
                PartitionIndexCache.Entry(first: $0, chunkKeys: (0..<chunks.count).map { chunkKey(chunkPrefix, $0) }, rows: Array(rows.prefix(indexed)))
            }
        } catch {
            return  // another query rewrote it first, the table went away, or the write failed: the next query tries again
        }
    }
}
