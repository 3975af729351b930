/// Chunk records: cutting ranges into chunks, reading them, and the
/// record batches of writes and clears.
extension ChunkedData {
    /// A change of part or all of one chunk: `range` (bytes within it) set
    /// to `bytes`, or to zeros when `bytes` is nil (a clear).
    struct ChunkEdit: Sendable {
        var index: UInt64
        var range: Range<Int>
        var bytes: [UInt8]?
    }

    /// The chunks [from, to) touches, each with the byte range of it inside.
    func chunks(from: UInt64, to: UInt64) -> [(chunk: UInt64, range: Range<Int>)] {
        guard from < to else { return [] }
        let size = geometry.chunkSize
        return (from / size...(to - 1) / size).map { chunk in
            let start = chunk * size
            return (chunk, Int(max(from, start) - start)..<Int(min(to, start + size) - start))
        }
    }

    /// `items` (ascending chunk indexes) cut into runs of one region each, at
    /// most `RecordBatch.maxChanges` long: one record batch or read each.
    func batches<T>(_ items: [T], index: (T) -> UInt64) -> [(region: UInt64, items: [T])] {
        var out: [(region: UInt64, items: [T])] = []
        for item in items {
            let region = index(item) / geometry.chunksPerRegion
            if let last = out.last, last.region == region, last.items.count < RecordBatch.maxChanges {
                out[out.count - 1].items.append(item)
            } else {
                out.append((region, [item]))
            }
        }
        return out
    }

    /// The plaintexts of those of `chunks` (one region's) that are stored;
    /// nil when the region map does not exist.
    func read(_ chunks: [UInt64], _ map: RecordMapName) async throws -> [(UInt64, [UInt8])]? {
        let found: [String: [UInt8]]
        do {
            found = try await backend.records(map, keys: chunks.map(Self.chunkKey))
        } catch let error as StorageError where error.code == .notFound {
            return nil
        }
        return try chunks.compactMap { chunk in
            let key = Self.chunkKey(chunk)
            return try found[key].map { (chunk, try open($0, map, key)) }
        }
    }

    /// Applies `edits` (ascending chunk indexes), one record batch per
    /// region and 256 chunks, the batches side by side.
    func apply(_ edits: [ChunkEdit]) async throws {
        let batches = batches(edits) { $0.index }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (region, edits) in batches {
                let map = try self.map(region)
                group.addTask { try await self.edit(edits, map) }
            }
            try await group.waitForAll()
        }
    }

    /// One record batch for `edits` (chunks of region `map`): whole chunks
    /// set (or removed) unconditionally, the others read, changed and
    /// written conditional on what was read; read and tried again when
    /// another writer changed one of them in between. Creates the region
    /// map when it is missing and the object is still there.
    private func edit(_ edits: [ChunkEdit], _ map: RecordMapName) async throws {
        var sets: [String: [UInt8]] = [:], removes: [String] = []
        let whole = Int(geometry.chunkSize)
        // Sealed once: a retry sets the same sealed bytes again (one plaintext per key still).
        for edit in edits where edit.range.count == whole {
            let key = Self.chunkKey(edit.index)
            if let bytes = edit.bytes { sets[key] = try seal(bytes, map, key) } else { removes.append(key) }
        }
        let partial = edits.filter { $0.range.count < whole }
        while true {
            var batch = RecordBatch(sets: sets, removes: removes)
            if !partial.isEmpty {
                let current: [String: [UInt8]]
                do {
                    current = try await backend.records(map, keys: partial.map { Self.chunkKey($0.index) })
                } catch let error as StorageError where error.code == .notFound {
                    current = [:]
                }
                for edit in partial {
                    try merge(edit, into: &batch, current: current[Self.chunkKey(edit.index)], map)
                }
            }
            if batch.sets.isEmpty && batch.removes.isEmpty { return }
            do {
                return try await backend.apply(batch, to: map)
            } catch let error as StorageError where error.code == .conditionFailed {
                continue  // another writer changed a partly written chunk: merge with what is there now
            } catch let error as StorageError where error.code == .notFound {
                if batch.sets.isEmpty { return }  // only removals, and the region holds nothing
                try await makeRegion(map)
            }
        }
    }

    /// Adds a partly covered chunk's change to `batch`: its plaintext now
    /// (zeros when `current` is nil) with `edit` applied, conditional on
    /// `current`; nothing when nothing changes.
    private func merge(_ edit: ChunkEdit, into batch: inout RecordBatch, current: [UInt8]?, _ map: RecordMapName) throws {
        let key = Self.chunkKey(edit.index)
        guard current != nil || edit.bytes != nil else { return }  // clearing a chunk never written
        var plaintext = try current.map { try open($0, map, key) } ?? [UInt8](repeating: 0, count: Int(geometry.chunkSize))
        let before = plaintext
        plaintext.replaceSubrange(edit.range, with: edit.bytes ?? [UInt8](repeating: 0, count: edit.range.count))
        if let current {
            if plaintext == before { return }
            batch.conditions.append(.equals(key, current))
        } else {
            batch.conditions.append(.absent(key))
        }
        if edit.bytes == nil, plaintext.allSatisfy({ $0 == 0 }) {
            batch.removes.append(key)
        } else {
            batch.sets[key] = try seal(plaintext, map, key)
        }
    }

    /// A write met a missing region map: made now when the owner says the
    /// object is still the one written to (`.creating`); the owner throws
    /// otherwise (`.notFound`, or `OwnerChanged` to start the call over).
    ///
    /// A delete racing this call removes the owner first and its region
    /// maps after, so a map made here after the delete looked for it would
    /// outlive the object: the owner is asked again once the map is made
    /// (`.created`), and the map is removed when it answers `.notFound` or
    /// `OwnerChanged`. If the owner was still there, the delete removes its
    /// maps after this one was made, this one included.
    private func makeRegion(_ map: RecordMapName) async throws {
        try await regionMissing(.creating)
        guard try await StorageError.succeeds(unless: .alreadyExists, { try await self.backend.createRecordMap(map) }) else { return }
        do {
            try await regionMissing(.created)
        } catch let error where error is OwnerChanged || (error as? StorageError)?.code == .notFound {
            _ = try await StorageError.succeeds(unless: .notFound) { try await self.backend.deleteRecordMap(map) }
            throw error
        }
    }

    /// Removes the records of `chunks`: the region maps wholly inside deleted,
    /// the stored keys of the others listed and removed.
    func remove(chunks: Range<UInt64>) async throws {
        let perRegion = geometry.chunksPerRegion
        let regions = chunks.lowerBound / perRegion...(chunks.upperBound - 1) / perRegion
        let isWhole = { (region: UInt64) in chunks.lowerBound <= region * perRegion && (region + 1) * perRegion <= chunks.upperBound }
        // Only the first and the last region can be covered in part.
        for region in Set([regions.lowerBound, regions.upperBound]).sorted() where !isWhole(region) {
            let map = try self.map(region)
            let keys = try await storedChunks(map, chunks.clamped(to: region * perRegion..<(region + 1) * perRegion)).map(Self.chunkKey)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for start in stride(from: 0, to: keys.count, by: RecordBatch.maxChanges) {
                    let batch = RecordBatch(removes: Array(keys[start..<min(keys.count, start + RecordBatch.maxChanges)]))
                    group.addTask { _ = try await StorageError.succeeds(unless: .notFound) { try await self.backend.apply(batch, to: map) } }
                }
                try await group.waitForAll()
            }
        }
        try await deleteMaps(regions: regions.lazy.filter(isWhole))
    }
}
