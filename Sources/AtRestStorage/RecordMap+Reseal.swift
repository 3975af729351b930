import AtRestCrypto

/// How one record of a record map is sealed, for re-encryption
/// (`RecordReencryption`): the kind's walk knows it from the map and key.
enum ResealForm: Sendable {
    /// A `SealedRecord` under this seal context.
    case record([UInt8])
    /// A table entity's main record (piece count ‖ piece 0, the other
    /// pieces beside it: `EntityRecord`), one `SealedRecord` under this context.
    case entity([UInt8])
    /// A disk's or file's chunk record under this context, unless it is a
    /// reference to an extent (not sealed: nothing to move; the extent moves
    /// with its marker).
    case chunk([UInt8])
    /// Not a record of its own (an entity's piece, moved with its main
    /// record) or not one the kind stores (listings skip it too): left alone.
    case none
}

extension SealedRecord {
    /// The account key version a sealed record names (the u32 after its
    /// format byte, from `offset`); nil when it is no sealed record this build reads.
    static func accountKeyVersion(of sealed: [UInt8], at offset: Int = 0) -> UInt32? {
        guard sealed.count >= offset + 5, sealed[offset] == format || sealed[offset] == doubleFormat else { return nil }
        return sealed[(offset + 1)..<(offset + 5)].reduce(0) { $0 << 8 | UInt32($1) }
    }
}

/// Resealing records in place under the current account key version, each
/// change conditional on the bytes read (docs/FORMAT.md "Account key versions").
extension RecordReencryption {
    /// One record's move: what it is conditional on and what it sets.
    struct Change {
        var key: String
        var conditions: [RecordCondition]
        var sets: [String: [UInt8]]
        var removes: [String] = []
        var bytes: UInt64
    }

    /// Whether `record` (its sealed bytes from `offset`) moves: under an older
    /// version of the account's own chain (`migrating`), never the current one.
    /// A record in no format this build reads fails, as its reads do.
    func moves(_ record: Record, at offset: Int = 0, in map: RecordMapName) throws -> Bool {
        guard let version = SealedRecord.accountKeyVersion(of: record.value, at: offset) else {
            throw StorageError(.unsupportedFormat, "record \(record.key) of \(map) is not in a format this build reads")
        }
        return version != accountKey.reference.accountKeyVersion && (migrating?.contains(version) ?? true)
    }

    /// Reseals those of `records` (read from `map`) under an older version,
    /// counting them into `page`: as many as possible in one batch, and when
    /// another call changed one meanwhile, each alone, read again (a record
    /// changed by another call is under the current version now, or gone:
    /// `raced`; one still under an older version is moved after all).
    func reseal(_ records: [Record], in map: RecordMapName, _ form: (String) -> ResealForm, _ page: inout ReencryptPage) async throws {
        var changes: [Change] = []
        for record in records {
            let how = form(record.key)
            if case .none = how { continue }
            // A reference to an extent is not sealed: nothing of it moves (its extent moves with the marker).
            if case .chunk = how, try ChunkedData.Reference.decode(record.value) != nil { continue }
            page.objects += 1
            if let change = try await change(record, how, in: map) { changes.append(change) }
        }
        var start = 0
        while start < changes.count {
            // At most RecordBatch.maxChanges sets and removes per batch (an entity of n pieces takes n).
            var end = start, size = 0
            while end < changes.count, size + changes[end].sets.count + changes[end].removes.count <= RecordBatch.maxChanges || end == start {
                size += changes[end].sets.count + changes[end].removes.count
                end += 1
            }
            let group = Array(changes[start..<end])
            start = end
            if group.count > 1, try await applied(group, to: map) {
                page.rewritten += group.count
                page.bytes += group.reduce(0) { $0 + $1.bytes }
                continue
            }
            for change in group { try await moveAlone(change, form(change.key), in: map, &page) }
        }
    }

    /// One record moved alone, read again after a lost race (three tries).
    private func moveAlone(_ first: Change, _ how: ResealForm, in map: RecordMapName, _ page: inout ReencryptPage) async throws {
        var change = first
        for _ in 0..<3 {
            if try await applied([change], to: map) {
                page.rewritten += 1
                page.bytes += change.bytes
                return
            }
            let current: [String: [UInt8]]
            do { current = try await backend.records(map, keys: [change.key]) } catch let error as StorageError where error.code == .notFound { break }
            guard let value = current[change.key], let again = try await self.change(Record(key: change.key, value: value), how, in: map) else { break }
            change = again
        }
        page.raced += 1
    }

    /// All of `changes` in one batch; false when a condition failed (or the map is gone), and nothing changed.
    private func applied(_ changes: [Change], to map: RecordMapName) async throws -> Bool {
        var batch = RecordBatch()
        for change in changes {
            batch.conditions += change.conditions
            batch.sets.merge(change.sets) { $1 }
            batch.removes += change.removes
        }
        do {
            try await backend.apply(batch, to: map)
            return true
        } catch let error as StorageError where error.code == .conditionFailed || error.code == .notFound {
            return false
        }
    }

    /// The move of `record` (nil: it stays, under the current version or a scope's).
    func change(_ record: Record, _ how: ResealForm, in map: RecordMapName) async throws -> Change? {
        switch how {
        case .none:
            return nil
        case .chunk(let context):
            if try ChunkedData.Reference.decode(record.value) != nil { return nil }
            return try await change(record, .record(context), in: map)
        case .record(let context):
            guard try moves(record, in: map) else { return nil }
            let plaintext = try SealedRecord.open(record.value, context: context, map: map, key: record.key, accountKey: accountKey)
            let sealed = try SealedRecord.seal(plaintext, context: context, map: map, key: record.key, accountKey: accountKey)
            return Change(key: record.key, conditions: [.equals(record.key, record.value)], sets: [record.key: sealed], bytes: UInt64(plaintext.count))
        case .entity(let context):
            guard let count = record.value.first, (1...EntityRecord.maxPieces).contains(Int(count)) else {
                throw StorageError.integrity("entity record \(record.key) piece count")
            }
            guard try moves(record, at: 1, in: map) else { return nil }
            let pieceKeys = EntityRecord.pieceKeys(main: record.key, count: Int(count))
            let pieces = pieceKeys.isEmpty ? [:] : try await backend.records(map, keys: pieceKeys)
            let old = try EntityRecord.join(main: record.key, value: record.value) { pieces[$0] }
            let plaintext = try SealedRecord.open(old, context: context, map: map, key: record.key, accountKey: accountKey)
            let sets = EntityRecord.records(main: record.key, sealed: try SealedRecord.seal(plaintext, context: context, map: map, key: record.key,
                                                                                          accountKey: accountKey))
            // The same length sealed again: the same pieces (removes only if a build ever seals to another length).
            return Change(key: record.key,
                          conditions: [.equals(record.key, record.value)] + pieceKeys.compactMap { key in pieces[key].map { .equals(key, $0) } },
                          sets: sets, removes: pieceKeys.filter { sets[$0] == nil }, bytes: UInt64(plaintext.count))
        }
    }
}
