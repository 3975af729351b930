/// Chunk records: cutting ranges into chunks, reading them, and the
/// record batches of writes and clears.
extension ChunkedData {
    /// A change of part or all of one chunk: `range` (bytes within it) set
    /// to `bytes`, or to zeros when `bytes` is nil (a clear).
    struct ChunkEdit: Sendable {
        var index: UInt64
        var range: Range<Int>
        /// The array the new bytes of `range` come from (the write's own, not
        /// copied: a run of whole chunks is sealed straight from it,
        /// `joined`), and where in it; nil to clear the range.
        var source: [UInt8]?
        var at = 0

        /// The new bytes of `range`, nil to clear it.
        var bytes: ArraySlice<UInt8>? { source.map { $0[at ..< at + range.count] } }

        /// Clears `range` of chunk `index`.
        init(index: UInt64, range: Range<Int>) {
            self.index = index
            self.range = range
        }

        /// Sets `range` of chunk `index` to `source[at ..< at + range.count]`.
        init(index: UInt64, range: Range<Int>, source: [UInt8], at: Int) {
            precondition(at >= 0 && at + range.count <= source.count, "edit outside its source")
            self.index = index
            self.range = range
            self.source = source
            self.at = at
        }
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
    /// With `aligned`, cut instead wherever the chunk index crosses a
    /// multiple of `writeBatch`.
    func batches<T>(_ items: [T], aligned: Bool = false, index: (T) -> UInt64) -> [(region: UInt64, items: [T])] {
        var out: [(region: UInt64, items: [T])] = []
        var bucket: UInt64 = .max
        for item in items {
            let region = index(item) / geometry.chunksPerRegion
            let next = index(item) / Self.writeBatch
            defer { bucket = next }
            if let last = out.last, last.region == region, aligned ? next == bucket : last.items.count < RecordBatch.maxChanges {
                out[out.count - 1].items.append(item)
            } else {
                out.append((region, [item]))
            }
        }
        return out
    }

    /// Reads the bytes of `chunks` (one region's, ascending) that fall in
    /// `window` (offsets in the data) into `buffer`, which holds `window`:
    /// from their records or decrypted straight into it from their extents;
    /// chunks not stored are left as they are (zeros). False when the
    /// region map does not exist. An extent deleted (or sealed again)
    /// between reading a reference and reading it means the chunk was
    /// written meanwhile: the records are read again (and the chunks zeroed
    /// first, so one cleared meanwhile reads as zeros).
    func read(_ chunks: [UInt64], _ map: RecordMapName, into buffer: AlignedBuffer, at window: Range<UInt64>) async throws -> Bool {
        let size = geometry.chunkSize
        // The part of `window` chunk `chunk` covers, as offsets in the data.
        let part = { (chunk: UInt64) in (chunk * size..<(chunk + 1) * size).clamped(to: window) }
        var attempt = 0
        while true {
            attempt += 1
            let found: [String: [UInt8]]
            do {
                found = try await backend.records(map, keys: chunks.map(Self.chunkKey))
            } catch let error as StorageError where error.code == .notFound {
                return false
            }
            if attempt > 1, let first = chunks.first, let last = chunks.last {
                buffer.zero(Int(part(first).lowerBound - window.lowerBound)..<Int(part(last).upperBound - window.lowerBound))
            }
            var referenced: [(chunk: UInt64, extent: [UInt8])] = []
            for chunk in chunks {
                let key = Self.chunkKey(chunk)
                guard let sealed = found[key] else { continue }
                switch try stored(sealed, map, key) {
                case .bytes(let plaintext):
                    let bytes = part(chunk)
                    buffer.copy(plaintext[Int(bytes.lowerBound - chunk * size)..<Int(bytes.upperBound - chunk * size)],
                                to: Int(bytes.lowerBound - window.lowerBound))
                case .extent(let extent): referenced.append((chunk, extent))
                }
            }
            do {
                try await readReferenced(referenced, into: buffer, at: window)
                return true
            } catch let error as StorageError where error.code == .notFound {
                guard attempt < 8 else { throw StorageError.integrity("chunks of \(map) refer to an extent that is not stored") }
            } catch is ObjectStore.VersionGone where attempt < 8 {
            }
        }
    }

    /// Decrypts the chunks of `referenced` (ascending) that fall in `window`
    /// from their extents into `buffer` (which holds `window`): one ranged
    /// read per run of neighbouring chunks in one extent, side by side.
    func readReferenced(_ referenced: [(chunk: UInt64, extent: [UInt8])], into buffer: AlignedBuffer, at window: Range<UInt64>) async throws {
        guard !referenced.isEmpty else { return }
        var runs: [(extent: [UInt8], chunks: Range<UInt64>)] = []
        for (chunk, extent) in referenced {
            if let last = runs.last, last.extent == extent, last.chunks.upperBound == chunk {
                runs[runs.count - 1].chunks = last.chunks.lowerBound..<chunk + 1
            } else {
                runs.append((extent, chunk..<chunk + 1))
            }
        }
        let size = geometry.chunkSize
        try await withThrowingTaskGroup(of: Void.self) { group in
            for run in runs {
                let bytes = (run.chunks.lowerBound * size..<run.chunks.upperBound * size).clamped(to: window)
                group.addTask {
                    let at = Int(bytes.lowerBound - window.lowerBound)
                    try await self.readExtent(run.extent, bytes: bytes, into: buffer.mutableBytes(at..<at + bytes.count))
                }
            }
            try await group.waitForAll()
        }
    }

    /// Chunks per write batch, aligned: an extent holds at most this many,
    /// aligned writes of neighbouring ranges never share one (so they never
    /// race each other on its marker), and a batch keeps room for the
    /// markers whose bits it clears (`RecordBatch.maxChanges` is 256).
    static let writeBatch: UInt64 = 128

    /// Applies `edits` (ascending chunk indexes), one record batch per
    /// aligned `writeBatch` chunks (of one region), the batches side by side.
    func apply(_ edits: [ChunkEdit]) async throws {
        let batches = batches(edits, aligned: true) { $0.index }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (region, edits) in batches {
                let map = try self.map(region)
                group.addTask { try await self.edit(edits, map) }
            }
            try await group.waitForAll()
        }
    }

    /// The longest run of neighbouring whole chunks with bytes in `edits`
    /// (one batch's, ascending), when it is long enough to be an extent.
    func extentRun(_ edits: [ChunkEdit]) -> Range<Int>? {
        guard geometry.extentChunks > 0 else { return nil }
        let whole = Int(geometry.chunkSize)
        let fits = { (i: Int) in edits[i].range.count == whole && edits[i].bytes != nil }
        var best = 0..<0, i = 0
        while i < edits.count {
            guard fits(i) else { i += 1; continue }
            var j = i + 1
            while j < edits.count, fits(j), edits[j].index == edits[j - 1].index + 1 { j += 1 }
            if j - i > best.count { best = i..<j }
            i = j
        }
        return UInt64(best.count) >= geometry.extentChunks ? best : nil
    }

    /// One record batch for `edits` (chunks of region `map`): whole chunks
    /// set (or removed) unconditionally, a long enough run of them as one
    /// extent (written first, durable, then its references and marker in
    /// the batch), the others read, changed and written conditional on what
    /// was read; read and tried again when another writer changed one of
    /// them in between. Creates the region map when it is missing and the
    /// object is still there. The markers of the extents that can hold its
    /// chunks are read first: their bits say which of the chunks it replaces
    /// refer to which extent, and are cleared in the same batch (`markerChanges`).
    private func edit(_ edits: [ChunkEdit], _ map: RecordMapName) async throws {
        var sets: [String: [UInt8]] = [:], removes: [String] = []
        let whole = Int(geometry.chunkSize)
        var written: Extent?
        let run = extentRun(edits)
        /// Seals and stores the run as a new extent, and sets its references and marker.
        func writeRun(_ run: Range<Int>) async throws -> Extent {
            let extent = try Extent.make(first: edits[run.lowerBound].index, count: UInt64(run.count), now: QueueStore.wallClock())
            try await writeExtent(extent, Self.joined(edits[run]))
            for edit in edits[run] {
                let key = Self.chunkKey(edit.index)
                sets[key] = Reference.encode(extent.id)
            }
            let marker = Self.markerKey(extent)
            sets[marker] = try seal(Marker(allOf: extent).encoded, map, marker)
            return extent
        }
        if let run { written = try await writeRun(run) }
        // Sealed once: a retry sets the same sealed bytes again (one plaintext per key still).
        for edit in edits where edit.range.count == whole && sets[Self.chunkKey(edit.index)] == nil {
            let key = Self.chunkKey(edit.index)
            if let bytes = edit.bytes { sets[key] = try seal(Array(bytes), map, key) } else { removes.append(key) }
        }
        let partial = edits.filter { $0.range.count < whole }
        var extentsGone = 0, condemnations = 0
        do {
            while true {
                var batch = RecordBatch(sets: sets, removes: removes)
                // The new extent's marker must not exist: the orphan collector writes it first, as a tombstone,
                // when it condemns an extent that no batch has named for longer than its grace (`collectOrphans`).
                if let written { batch.conditions.append(.absent(Self.markerKey(written))) }
                // The markers of the extents that can hold these chunks (their bits say which chunks refer
                // to them) and the records of the partly written chunks, read side by side.
                async let nearby = markersNear(edits[0].index...edits[edits.count - 1].index, map)
                var current: [String: [UInt8]] = [:]
                if !partial.isEmpty {
                    do {
                        current = try await backend.records(map, keys: partial.map { Self.chunkKey($0.index) })
                    } catch let error as StorageError where error.code == .notFound {
                    }
                }
                let markers = try await nearby
                // The chunks whose records this batch replaces: the whole ones, and the partial ones it changes.
                var replaced = Set(edits.lazy.filter { $0.range.count == whole }.map(\.index))
                let dead: [Extent], sparse: [Extent]
                do {
                    for edit in partial where try await merge(edit, into: &batch, current: current[Self.chunkKey(edit.index)], map) {
                        replaced.insert(edit.index)
                    }
                    (dead, sparse) = try markerChanges(replaced, markers, into: &batch, map)
                } catch let error as StorageError where error.code == .notFound {
                    // An extent went away under a partly written chunk: it was written meanwhile (or is lost).
                    extentsGone += 1
                    guard extentsGone < 8 else { throw StorageError.integrity("chunks of \(map) refer to an extent that is not stored") }
                    continue
                } catch is ObjectStore.VersionGone where extentsGone < 8 {
                    extentsGone += 1
                    continue
                }
                if batch.sets.isEmpty && batch.removes.isEmpty { return }
                do {
                    try await backend.apply(batch, to: map)
                    written = nil
                    await deleteObjects(dead)
                    for extent in sparse { await moveOut(extent, map) }
                    return
                } catch let error as StorageError where error.code == .conditionFailed {
                    // Another writer changed a partly written chunk or a marker: start from what is there now. Or
                    // the collector condemned this batch's extent (its tombstone holds the marker's key): the run
                    // goes into a new extent, and the condemned one is the collector's to delete.
                    if let condemned = written, let run,
                       (try? await backend.records(map, keys: [Self.markerKey(condemned)]))?[Self.markerKey(condemned)] != nil {
                        sets[Self.markerKey(condemned)] = nil
                        written = nil
                        condemnations += 1
                        guard condemnations < 8 else {
                            throw StorageError(.unavailable, "\(map): the orphan collector condemned this write's extent 8 times (is its retention near 0?); try again")
                        }
                        written = try await writeRun(run)
                    }
                    continue
                } catch let error as StorageError where error.code == .notFound {
                    if batch.sets.isEmpty { return }  // only removals, and the region holds nothing
                    try await makeRegion(map)
                } catch {
                    // The batch may have landed (a lost reply): the extent stays, garbage at worst.
                    written = nil
                    throw error
                }
            }
        } catch {
            // The batch did not land (a failed condition or read, the owner gone): nothing refers to the extent written for it.
            if let written { _ = try? await StorageError.succeeds(unless: .notFound) { try await self.backend.delete(try self.extentName(written), condition: .none) } }
            throw error
        }
    }

    /// The new bytes of `edits` one after the other: when each edit's bytes
    /// start where the one before ends in the same array (the neighbouring
    /// whole chunks of one `write`), that array's slice over all of them,
    /// not copied; else a copy.
    static func joined(_ edits: ArraySlice<ChunkEdit>) -> ArraySlice<UInt8> {
        guard let first = edits.first, let source = first.source else { preconditionFailure("an extent's run is whole chunks with bytes") }
        var end = first.at + first.range.count
        for edit in edits.dropFirst() {
            guard let other = edit.source, edit.at == end, Self.sameStorage(source, other) else {
                return ArraySlice(edits.flatMap { $0.bytes ?? [] })
            }
            end += edit.range.count
        }
        return source[first.at ..< end]
    }

    private static func sameStorage(_ left: [UInt8], _ right: [UInt8]) -> Bool {
        left.count == right.count && left.withUnsafeBufferPointer { a in right.withUnsafeBufferPointer { b in a.baseAddress == b.baseAddress } }
    }

    /// Adds a partly covered chunk's change to `batch`: its plaintext now
    /// (zeros when `current` is nil; read from its extent when it is a
    /// reference) with `edit` applied, conditional on `current`; nothing
    /// when nothing changes. Whether it changed the chunk.
    private func merge(_ edit: ChunkEdit, into batch: inout RecordBatch, current: [UInt8]?, _ map: RecordMapName) async throws -> Bool {
        let key = Self.chunkKey(edit.index)
        guard current != nil || edit.bytes != nil else { return false }  // clearing a chunk never written
        var plaintext = [UInt8](repeating: 0, count: Int(geometry.chunkSize))
        if let current {
            switch try stored(current, map, key) {
            case .bytes(let bytes): plaintext = bytes
            case .extent(let id): plaintext = try await readExtent(id, chunks: edit.index..<edit.index + 1)
            }
        }
        let before = plaintext
        plaintext.replaceSubrange(edit.range, with: edit.bytes ?? ArraySlice(repeating: 0, count: edit.range.count))
        if let current {
            if plaintext == before { return false }
            batch.conditions.append(.equals(key, current))
        } else {
            batch.conditions.append(.absent(key))
        }
        if edit.bytes == nil, plaintext.allSatisfy({ $0 == 0 }) {
            batch.removes.append(key)
        } else {
            batch.sets[key] = try seal(plaintext, map, key)
        }
        return true
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

    /// Removes the records of `chunks`: the region maps wholly inside deleted
    /// (with the extents they mark), the stored keys of the others listed and
    /// removed, then their extents' bits for those chunks cleared (`clearBits`).
    func remove(chunks: Range<UInt64>) async throws {
        let perRegion = geometry.chunksPerRegion
        let regions = chunks.lowerBound / perRegion...(chunks.upperBound - 1) / perRegion
        let isWhole = { (region: UInt64) in chunks.lowerBound <= region * perRegion && (region + 1) * perRegion <= chunks.upperBound }
        // Only the first and the last region can be covered in part.
        for region in Set([regions.lowerBound, regions.upperBound]).sorted() where !isWhole(region) {
            let map = try self.map(region)
            let inRegion = chunks.clamped(to: region * perRegion..<(region + 1) * perRegion)
            // Listed before the records go: an extent made meanwhile is no business of this clear.
            let touched = try await markers(map).filter { $0.extent.chunks.overlaps(inRegion) }.map { Self.markerKey($0.extent) }
            let keys = try await storedChunks(map, inRegion).map(Self.chunkKey)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for start in stride(from: 0, to: keys.count, by: RecordBatch.maxChanges) {
                    let batch = RecordBatch(removes: Array(keys[start..<min(keys.count, start + RecordBatch.maxChanges)]))
                    group.addTask { _ = try await StorageError.succeeds(unless: .notFound) { try await self.backend.apply(batch, to: map) } }
                }
                try await group.waitForAll()
            }
            try await clearBits(touched, inRegion, in: map)
        }
        try await deleteMaps(regions: regions.lazy.filter(isWhole))
    }
}
