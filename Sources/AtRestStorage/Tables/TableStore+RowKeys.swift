import AtRestCrypto

/// Learning the RowKeys of rows a partition's index lacks (docs/FORMAT.md
/// "Tables", "Learning RowKeys").
///
/// RowKeys are hashed into record keys, so a row's place in RowKey order is
/// known to the partition's index or to the row itself. The first query of
/// a freshly written partition knows none of them, and opening every entity
/// in full (its HKDF, the GCM tag over all its bytes, decoding every
/// property, hashing its keys) to put 10,000 rows in order was most of that
/// query. Only the keys are needed, and they are the entity encoding's first
/// bytes: those are decrypted without the tag (`SealedRecord.unauthenticatedPrefix`)
/// and accepted only when the PartitionKey is the partition's and the keyed
/// hash of (PartitionKey, RowKey) is the record's own key. Changed bytes
/// give other keys, whose hash is not the record's (or not valid UTF-8, or
/// lengths past the prefix): the query fails closed, as a changed entity
/// would. The entities a page returns are still opened in full and checked
/// against the RowKey they were placed by.
extension TableStore {
    /// Plaintext bytes decrypted first: the encoding's version, both keys and their lengths, when the keys are short.
    static let keyPrefixBytes = 64

    /// The rows of `mains` (main keys of partition `partitionKey`, whose key prefix is `prefix`, in key order) that
    /// exist, with their RowKeys, in the order of `mains`. Many (at least 1/`rangeShare` of the partition's
    /// `partitionSize` rows) are read as the partition's key range, fewer by key; either way in two halves on two cores.
    func learnRowKeys(_ table: Table, _ mains: [String], partitionSize: Int, _ partitionKey: String, _ prefix: String,
                      _ key: AccountKey) async throws -> [IndexRow] {
        guard !mains.isEmpty else { return [] }
        let ranged = mains.count * Self.rangeShare >= partitionSize
        /// The rows of `some`, whose range starts after `start`.
        @Sendable func learn(_ some: ArraySlice<String>, after start: String) async throws -> [IndexRow] {
            ranged ? try await learnRange(table, some, after: start, partitionKey, prefix, key)
                : try await learnByKey(table, some, partitionKey, prefix, key)
        }
        do {
            guard mains.count > Self.parallelFetch else { return try await learn(mains[...], after: prefix) }
            let half = mains.count / 2
            async let first = learn(mains[..<half], after: prefix)
            let second = try await learn(mains[half...], after: mains[half - 1])
            return try await first + second
        } catch let error as StorageError where error.code == .notFound {
            throw Self.tableNotFound(table.account, table.record.name)
        }
    }

    /// Unknown rows at least this fraction of a partition are read as its key range: one walk of the keys
    /// instead of a lookup from the top for each.
    static let rangeShare = 8

    private func learnByKey(_ table: Table, _ mains: ArraySlice<String>, _ partitionKey: String, _ prefix: String,
                            _ key: AccountKey) async throws -> [IndexRow] {
        var out: [IndexRow] = []
        for start in stride(from: mains.startIndex, to: mains.endIndex, by: 1000) {
            let some = mains[start..<min(mains.endIndex, start + 1000)]
            let found = try await backend.records(table.map, keys: Array(some))
            for main in some {
                guard let value = found[main] else { continue }  // deleted since it was listed
                out.append(IndexRow(rowKey: try rowKey(table, main, value, partitionKey, prefix, key), main: main))
            }
        }
        return out
    }

    /// The rows of `mains` found reading the partition's records in key order from after `start`.
    private func learnRange(_ table: Table, _ mains: ArraySlice<String>, after start: String, _ partitionKey: String,
                            _ prefix: String, _ key: AccountKey) async throws -> [IndexRow] {
        var out: [IndexRow] = [], after = start, next = mains.startIndex
        while next < mains.endIndex {
            let page = try await backend.records(table.map, after: after, limit: 1000)
            var ended = !page.more
            for record in page.records {
                guard record.key.hasPrefix(prefix) else { ended = true; break }
                guard !EntityRecord.isPieceKey(record.key) else { continue }
                while next < mains.endIndex && IndexRow.precedes(mains[next], record.key) { next += 1 }  // deleted meanwhile
                guard next < mains.endIndex else { ended = true; break }
                guard IndexRow.order(mains[next], record.key) == 0 else { continue }  // written since the listing
                out.append(IndexRow(rowKey: try rowKey(table, record.key, record.value, partitionKey, prefix, key), main: record.key))
                next += 1
            }
            guard !ended, let last = page.records.last else { break }
            after = last.key
        }
        return out
    }

    /// The RowKey of the entity whose main record is `value` at `main`, from the first bytes of its encoding,
    /// checked against the record's key; `.integrityFailure` when they are not the keys that hash to it.
    func rowKey(_ table: Table, _ main: String, _ value: [UInt8], _ partitionKey: String, _ prefix: String,
                _ key: AccountKey) throws -> String {
        guard let count = value.first, (1...EntityRecord.maxPieces).contains(Int(count)) else {
            throw StorageError.integrity("entity record \(main) piece count")
        }
        let sealed = value.dropFirst()  // piece 0 of the sealed entity: its header and the start of its ciphertext
        func plaintext(_ bytes: Int) throws -> [UInt8] {
            try SealedRecord.unauthenticatedPrefix(sealed, count: bytes, context: table.entityContext, accountKey: key)
        }
        let damaged = StorageError.integrity("entity record \(main) names another entity (changed, damaged or moved)")
        // u8 version ‖ u16 PartitionKey length ‖ PartitionKey ‖ u16 RowKey length ‖ RowKey
        var head = try plaintext(Self.keyPrefixBytes)
        guard head.count >= 3, head[0] == 1 else { throw damaged }
        let partitionEnd = 3 + (Int(head[1]) << 8 | Int(head[2]))
        func rowEnd() -> Int? {
            head.count < partitionEnd + 2 ? nil : partitionEnd + 2 + (Int(head[partitionEnd]) << 8 | Int(head[partitionEnd + 1]))
        }
        // Longer keys: one more read (one more key derived), long enough for the longest RowKey there may be.
        if rowEnd().map({ $0 > head.count }) ?? true { head = try plaintext(partitionEnd + 2 + TableLimits.maxKeyBytes) }
        guard let rowEnd = rowEnd(), head.count >= rowEnd,
              let partition = String(validating: head[3..<partitionEnd], as: UTF8.self), partition == partitionKey,
              let rowKey = String(validating: head[(partitionEnd + 2)..<rowEnd], as: UTF8.self),
              try prefix + rowHash(table, partitionKey, rowKey, key) == main else { throw damaged }
        return rowKey
    }
}
