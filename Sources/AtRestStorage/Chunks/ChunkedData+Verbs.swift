/// Writing, reading, clearing and listing an object's bytes.
extension ChunkedData {
    /// Writes `bytes` at `offset`; durable on return. Atomic per chunk
    /// record, not per call: a crash or a racing writer can leave some
    /// chunks of the call written and others not.
    func write(at offset: UInt64, _ bytes: [UInt8]) async throws {
        try check(offset, UInt64(bytes.count))
        let size = geometry.chunkSize
        let edits = chunks(from: offset, to: offset + UInt64(bytes.count)).map { chunk, range in
            let at = Int(chunk * size + UInt64(range.lowerBound) - offset)
            return ChunkEdit(index: chunk, range: range, source: bytes, at: at)
        }
        try await apply(edits)
    }

    /// Writes each of `writes` (ranges that do not overlap) at its offset;
    /// durable on return, atomic per chunk record as `write(at:)`. Their
    /// chunks go in one set of batches when no two writes share a chunk;
    /// otherwise each write is its own (a partly covered chunk is read and
    /// written conditionally, so two writes into one chunk compose).
    func write(_ writes: [(offset: UInt64, bytes: [UInt8])]) async throws {
        let size = geometry.chunkSize
        var edits: [ChunkEdit] = []
        for write in writes {
            try check(write.offset, UInt64(write.bytes.count))
            edits += chunks(from: write.offset, to: write.offset + UInt64(write.bytes.count)).map { chunk, range in
                ChunkEdit(index: chunk, range: range, source: write.bytes, at: Int(chunk * size + UInt64(range.lowerBound) - write.offset))
            }
        }
        edits.sort { $0.index < $1.index }
        if zip(edits, edits.dropFirst()).allSatisfy({ $0.index != $1.index }) { return try await apply(edits) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for write in writes { group.addTask { try await self.write(at: write.offset, write.bytes) } }
            try await group.waitForAll()
        }
    }

    /// `length` bytes at `offset`; what was never written (or was cleared)
    /// reads as zeros. Decrypted straight into the buffer returned (pooled,
    /// page-aligned: a reply frame, no copy after the cipher).
    func read(at offset: UInt64, length: Int) async throws -> AlignedBuffer {
        guard length >= 0 else { throw StorageError(.invalidArgument, "read a length of 0 bytes or more, not \(length)") }
        try check(offset, UInt64(length))
        let window = offset..<offset + UInt64(length)
        let buffer = AlignedBuffer(count: length)
        let batches = batches(chunks(from: window.lowerBound, to: window.upperBound).map(\.chunk)) { $0 }
        let found = try await withThrowingTaskGroup(of: Bool.self) { group in
            for (region, chunks) in batches {
                let map = try self.map(region)
                group.addTask { try await self.read(chunks, map, into: buffer, at: window) }
            }
            return try await group.reduce(true) { $0 && $1 }
        }
        if !found { try await regionMissing(.reading) }
        return buffer
    }

    /// Makes [offset, offset + length) read as zeros and releases its
    /// storage: whole region maps inside it deleted, whole chunks removed,
    /// the bytes of partly covered chunks zeroed (the chunk removed when it
    /// is all zeros then). Durable on return.
    func clear(at offset: UInt64, length: UInt64) async throws {
        try check(offset, length)
        guard length > 0 else { return }
        let (from, to) = (offset, offset + length), size = geometry.chunkSize
        let firstWhole = (from + size - 1) / size, endWhole = to / size
        if firstWhole < endWhole { try await remove(chunks: firstWhole..<endWhole) }
        // Only the first and the last chunk can be covered in part.
        let ends = chunks(from: from, to: min(to, (from / size + 1) * size)) + chunks(from: max(from, (to - 1) / size * size), to: to)
        var edges: [ChunkEdit] = []
        for (chunk, range) in ends where range.count < Int(size) && edges.last?.index != chunk {
            edges.append(ChunkEdit(index: chunk, range: range))
        }
        try await apply(edges)
    }

    /// The ranges of [offset, offset + length) that hold written data,
    /// ascending and merged: a chunk with a record counts whole, so a range
    /// is chunk-aligned except where it is cut to [offset, offset + length).
    func storedRanges(at offset: UInt64, length: UInt64) async throws -> [Range<UInt64>] {
        try check(offset, length)
        guard length > 0 else { return [] }
        let end = offset + length, size = geometry.chunkSize, perRegion = geometry.chunksPerRegion
        let chunks = offset / size..<(end - 1) / size + 1
        var ranges: [Range<UInt64>] = [], missing = false
        for region in chunks.lowerBound / perRegion...(chunks.upperBound - 1) / perRegion {
            let stored = try await storedChunks(try map(region), chunks.clamped(to: region * perRegion..<(region + 1) * perRegion))
            if stored.isEmpty { missing = true }
            for chunk in stored {
                let start = max(chunk * size, offset), stop = min((chunk + 1) * size, end)
                if let last = ranges.last, last.upperBound == start {
                    ranges[ranges.count - 1] = last.lowerBound..<stop
                } else {
                    ranges.append(start..<stop)
                }
            }
        }
        // Nothing in a region: never written, or the object's maps deleted meanwhile?
        if missing { try await regionMissing(.reading) }
        return ranges
    }

    /// Deletes the region maps `regions` (those that exist), 16 at a time,
    /// each with the extents its markers name (listed before the map goes:
    /// a write that lands in the map made again after it is not among them).
    func deleteMaps(regions: some Sequence<UInt64>) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var running = 0
            for region in regions {
                if running == 16 { try await group.next(); running -= 1 }
                let map = try self.map(region)
                group.addTask {
                    let marked = try await self.markedExtents(map)
                    guard try await StorageError.succeeds(unless: .notFound, { try await self.backend.deleteRecordMap(map) }) else { return }
                    for id in marked { try await self.deleteObject(try self.extentName(id: id, region: region)) }
                }
                running += 1
            }
            try await group.waitForAll()
        }
    }

    /// Deletes every region map of an object of `size` bytes, then every
    /// extent object left of it (one a write made but never referred to:
    /// a crash, or a write that raced the delete).
    func deleteAll(size: UInt64) async throws {
        try await deleteMaps(regions: 0..<geometry.regions(size))
        guard geometry.extentChunks > 0 else { return }
        let container = try extentContainer()
        for name in try await extentObjects() where extentParts(ofName: name) != nil { try await deleteObject(try BackendName(container, name)) }
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
}
