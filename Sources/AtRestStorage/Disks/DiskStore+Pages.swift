import AtRestCrypto

/// Writing, clearing and reading pages.
extension DiskStore {
    /// Writes `data` (a multiple of 512 bytes, 512 B to 4 MiB) at `offset`
    /// (a multiple of 512; the range within the disk); durable on return.
    /// Atomic per 512-byte page, not per call: a crash or a racing writer
    /// can leave some pages of the call written and others not.
    public func writePages(account: String, name: String, offset: UInt64, data: [UInt8], accountKey: AccountKey) async throws {
        try DiskLimits.check(io: data.count, "a page write")
        try await withDisk(account, name, accountKey) { disk in
            try check(offset, UInt64(data.count), pages: true, in: disk, "write")
            let end = offset + UInt64(data.count)
            let edits = Self.chunks(from: offset, to: end).map { chunk, range in
                let at = Int(chunk * DiskLimits.chunkSize + UInt64(range.lowerBound) - offset)
                return ChunkEdit(index: chunk, range: range, bytes: Array(data[at..<at + range.count]))
            }
            try await apply(edits, disk, name, accountKey)
        }
    }

    /// Makes [offset, offset + length) (multiples of 512, within the disk)
    /// read as zeros and releases its storage: chunks it covers whole are
    /// removed, the pages of others are zeroed (the chunk removed when it
    /// is all zeros then). Durable on return.
    public func clearPages(account: String, name: String, offset: UInt64, length: UInt64, accountKey: AccountKey) async throws {
        try await withDisk(account, name, accountKey) { disk in
            try check(offset, length, pages: true, in: disk, "clear")
            guard length > 0 else { throw StorageError(.invalidArgument, "clear at least one page (512 bytes), not 0") }
            try await clear(disk, name, from: offset, to: offset + length, accountKey)
        }
    }

    /// `length` bytes (1 B to 4 MiB, any offset and length within the
    /// disk) at `offset`; what was never written (or was cleared) reads as zeros.
    public func readPages(account: String, name: String, offset: UInt64, length: Int, accountKey: AccountKey) async throws -> [UInt8] {
        try DiskLimits.check(io: length, "a page read")
        return try await withDisk(account, name, accountKey) { disk in
            try check(offset, UInt64(length), pages: false, in: disk, "read")
            let end = offset + UInt64(length)
            var out = [UInt8](repeating: 0, count: length), missing = false
            let batches = Self.batches(Self.chunks(from: offset, to: end).map(\.chunk))
            try await withThrowingTaskGroup(of: [(UInt64, [UInt8])]?.self) { group in
                for (region, chunks) in batches {
                    let map = try self.region(disk, region)
                    group.addTask { try await self.read(chunks, disk, map, accountKey) }
                }
                for try await opened in group {
                    guard let opened else { missing = true; continue }
                    for (chunk, plaintext) in opened {
                        // The chunk's bytes in [offset, end).
                        let start = chunk * DiskLimits.chunkSize
                        let from = max(start, offset), to = min(start + DiskLimits.chunkSize, end)
                        out.replaceSubrange(Int(from - offset)..<Int(to - offset), with: plaintext[Int(from - start)..<Int(to - start)])
                    }
                }
            }
            if missing { try await confirm(disk, name, accountKey) }
            return out
        }
    }

    // MARK: Chunks

    /// A change of part or all of one chunk: `range` (bytes within it) set
    /// to `bytes`, or to zeros when `bytes` is nil (a clear).
    struct ChunkEdit: Sendable {
        var index: UInt64
        var range: Range<Int>
        var bytes: [UInt8]?

        var whole: Bool { range.count == Int(DiskLimits.chunkSize) }
    }

    /// The chunks [from, to) touches, each with the byte range of it inside.
    static func chunks(from: UInt64, to: UInt64) -> [(chunk: UInt64, range: Range<Int>)] {
        guard from < to else { return [] }
        let size = DiskLimits.chunkSize
        return (from / size...(to - 1) / size).map { chunk in
            let start = chunk * size
            return (chunk, Int(max(from, start) - start)..<Int(min(to, start + size) - start))
        }
    }

    /// `items` (ascending chunk indexes) cut into runs of one region each, at
    /// most `RecordBatch.maxChanges` long: one record batch or read each.
    static func batches<T>(_ items: [T], index: (T) -> UInt64) -> [(region: UInt64, items: [T])] {
        var out: [(region: UInt64, items: [T])] = []
        for item in items {
            let region = index(item) / DiskLimits.chunksPerRegion
            if let last = out.last, last.region == region, last.items.count < RecordBatch.maxChanges {
                out[out.count - 1].items.append(item)
            } else {
                out.append((region, [item]))
            }
        }
        return out
    }

    static func batches(_ chunks: [UInt64]) -> [(region: UInt64, items: [UInt64])] { batches(chunks) { $0 } }

    /// The plaintexts of those of `chunks` (one region's) that are stored;
    /// nil when the region map does not exist.
    private func read(_ chunks: [UInt64], _ disk: Disk, _ map: RecordMapName, _ accountKey: AccountKey) async throws -> [(UInt64, [UInt8])]? {
        let found: [String: [UInt8]]
        do {
            found = try await backend.records(map, keys: chunks.map(Self.chunkKey))
        } catch let error as StorageError where error.code == .notFound {
            return nil
        }
        return try chunks.compactMap { chunk in
            let key = Self.chunkKey(chunk)
            return try found[key].map { (chunk, try open($0, disk, map, key, accountKey)) }
        }
    }

    func open(_ sealed: [UInt8], _ disk: Disk, _ map: RecordMapName, _ key: String, _ accountKey: AccountKey) throws -> [UInt8] {
        let plaintext = try SealedRecord.open(sealed, context: Self.chunkContext(disk, key), map: map, key: key, accountKey: accountKey)
        guard plaintext.count == Int(DiskLimits.chunkSize) else { throw StorageError.integrity("chunk \(key) of \(map) is not 4096 bytes") }
        return plaintext
    }

    func seal(_ plaintext: [UInt8], _ disk: Disk, _ map: RecordMapName, _ key: String, _ accountKey: AccountKey) throws -> [UInt8] {
        try SealedRecord.seal(plaintext, context: Self.chunkContext(disk, key), map: map, key: key, accountKey: accountKey)
    }

    /// Applies `edits` (ascending chunk indexes), one record batch per
    /// region and 256 chunks, the batches side by side.
    func apply(_ edits: [ChunkEdit], _ disk: Disk, _ name: String, _ accountKey: AccountKey) async throws {
        let batches = Self.batches(edits) { $0.index }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (region, edits) in batches {
                let map = try self.region(disk, region)
                group.addTask { try await self.edit(edits, disk, name, map, accountKey) }
            }
            try await group.waitForAll()
        }
    }

    /// One record batch for `edits` (chunks of region `map`): whole chunks
    /// set (or removed) unconditionally, the others read, changed and
    /// written conditional on what was read; read and tried again when
    /// another writer changed one of them in between. Creates the region
    /// map when it is missing and the disk is still there.
    private func edit(_ edits: [ChunkEdit], _ disk: Disk, _ name: String, _ map: RecordMapName, _ accountKey: AccountKey) async throws {
        var sets: [String: [UInt8]] = [:], removes: [String] = []
        // Sealed once: a retry sets the same sealed bytes again (one plaintext per key still).
        for edit in edits where edit.whole {
            let key = Self.chunkKey(edit.index)
            if let bytes = edit.bytes { sets[key] = try seal(bytes, disk, map, key, accountKey) } else { removes.append(key) }
        }
        let partial = edits.filter { !$0.whole }
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
                    try merge(edit, into: &batch, current: current[Self.chunkKey(edit.index)], disk, map, accountKey)
                }
            }
            if batch.sets.isEmpty && batch.removes.isEmpty { return }
            do {
                return try await backend.apply(batch, to: map)
            } catch let error as StorageError where error.code == .conditionFailed {
                continue  // another writer changed a partly written chunk: merge with what is there now
            } catch let error as StorageError where error.code == .notFound {
                if batch.sets.isEmpty { return }  // only removals, and the region holds nothing
                try await regionMissing(disk, name, map, accountKey)
            }
        }
    }

    /// Adds a partly covered chunk's change to `batch`: its plaintext now
    /// (zeros when `current` is nil) with `edit` applied, conditional on
    /// `current`; nothing when nothing changes.
    private func merge(_ edit: ChunkEdit, into batch: inout RecordBatch, current: [UInt8]?, _ disk: Disk, _ map: RecordMapName,
                       _ accountKey: AccountKey) throws {
        let key = Self.chunkKey(edit.index)
        guard current != nil || edit.bytes != nil else { return }  // clearing a chunk never written
        var plaintext = try current.map { try open($0, disk, map, key, accountKey) } ?? [UInt8](repeating: 0, count: Int(DiskLimits.chunkSize))
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
            batch.sets[key] = try seal(plaintext, disk, map, key, accountKey)
        }
    }

    /// A write met a missing region map: made now when the disk is still
    /// the one written to; `DiskChanged` when it was deleted and created
    /// again or resized (the call starts over on the disk there now);
    /// `.notFound` when it is gone.
    ///
    /// A delete racing this call removes the disk's name first and its
    /// region maps after, so a map made here after the delete looked for
    /// it would outlive the disk: the name is looked up again once the map
    /// is made, and the map is removed when the disk is gone (or is another
    /// disk now). If the name was still there, the delete removes its maps
    /// after this one was made, this one included.
    private func regionMissing(_ disk: Disk, _ name: String, _ map: RecordMapName, _ accountKey: AccountKey) async throws {
        let now = try await lookUp(disk.account, name, accountKey)
        guard now.same(disk) else { throw DiskChanged() }
        guard try await StorageError.succeeds(unless: .alreadyExists, { try await self.backend.createRecordMap(map) }) else { return }
        let after: Disk
        do {
            after = try await lookUp(disk.account, name, accountKey)
        } catch let error as StorageError where error.code == .notFound {
            try await dropOrphan(map)
            throw error
        }
        if after.id != disk.id {
            try await dropOrphan(map)
            throw DiskChanged()
        }
    }

    private func dropOrphan(_ map: RecordMapName) async throws {
        _ = try await StorageError.succeeds(unless: .notFound) { try await self.backend.deleteRecordMap(map) }
    }

    // MARK: Clearing ranges

    /// Makes [from, to) (multiples of 512) read as zeros: whole regions
    /// inside it deleted, whole chunks removed, partly covered chunks zeroed.
    func clear(_ disk: Disk, _ name: String, from: UInt64, to: UInt64, _ accountKey: AccountKey) async throws {
        guard from < to else { return }
        let size = DiskLimits.chunkSize
        let firstWhole = (from + size - 1) / size, endWhole = to / size
        if firstWhole < endWhole { try await remove(disk, chunks: firstWhole..<endWhole) }
        // Only the first and the last chunk can be covered in part.
        let ends = Self.chunks(from: from, to: min(to, (from / size + 1) * size)) + Self.chunks(from: max(from, (to - 1) / size * size), to: to)
        var edges: [ChunkEdit] = []
        for (chunk, range) in ends where range.count < Int(size) && edges.last?.index != chunk {
            edges.append(ChunkEdit(index: chunk, range: range, bytes: nil))
        }
        try await apply(edges, disk, name, accountKey)
    }

    /// Removes the records of `chunks`: the region maps wholly inside deleted,
    /// the stored keys of the others listed and removed.
    private func remove(_ disk: Disk, chunks: Range<UInt64>) async throws {
        let perRegion = DiskLimits.chunksPerRegion
        let regions = chunks.lowerBound / perRegion...(chunks.upperBound - 1) / perRegion
        let isWhole = { (region: UInt64) in chunks.lowerBound <= region * perRegion && (region + 1) * perRegion <= chunks.upperBound }
        // Only the first and the last region can be covered in part.
        for region in Set([regions.lowerBound, regions.upperBound]).sorted() where !isWhole(region) {
            let map = try self.region(disk, region)
            let keys = try await storedChunks(map, chunks.clamped(to: region * perRegion..<(region + 1) * perRegion)).map(Self.chunkKey)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for start in stride(from: 0, to: keys.count, by: RecordBatch.maxChanges) {
                    let batch = RecordBatch(removes: Array(keys[start..<min(keys.count, start + RecordBatch.maxChanges)]))
                    group.addTask { _ = try await StorageError.succeeds(unless: .notFound) { try await self.backend.apply(batch, to: map) } }
                }
                try await group.waitForAll()
            }
        }
        try await deleteRegions(disk, regions.lazy.filter(isWhole))
    }

    /// The chunks in `range` (of one region) that have records; none when the map is missing.
    func storedChunks(_ map: RecordMapName, _ range: Range<UInt64>) async throws -> [UInt64] {
        var chunks: [UInt64] = []
        var after = range.lowerBound == 0 ? nil : Self.chunkKey(range.lowerBound - 1)
        while true {
            let page: (keys: [String], more: Bool)
            do {
                page = try await backend.recordKeys(map, after: after, limit: 1000)
            } catch let error as StorageError where error.code == .notFound {
                return []
            }
            for key in page.keys {
                guard let chunk = Self.chunkIndex(ofKey: key) else { continue }
                guard chunk < range.upperBound else { return chunks }
                chunks.append(chunk)
            }
            guard page.more, let last = page.keys.last else { return chunks }
            after = last
        }
    }

    /// Deletes the region maps `regions` of `disk` (those that exist), 16 at a time.
    func deleteRegions(_ disk: Disk, _ regions: some Sequence<UInt64>) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var running = 0
            for region in regions {
                if running == 16 { try await group.next(); running -= 1 }
                let map = try self.region(disk, region)
                group.addTask { _ = try await StorageError.succeeds(unless: .notFound) { try await self.backend.deleteRecordMap(map) } }
                running += 1
            }
            try await group.waitForAll()
        }
    }
}
