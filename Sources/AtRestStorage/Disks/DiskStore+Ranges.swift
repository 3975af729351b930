/// The written ranges of a disk.
extension DiskStore {
    /// The ranges of [offset, offset + length) (within the disk) that hold
    /// written data, ascending and merged: a chunk (4 KiB) with a record
    /// counts whole, so a range is 4 KiB-aligned except where it is cut to
    /// [offset, offset + length). Cleared and never-written ranges are not listed.
    public func pageRanges(account: String, name: String, offset: UInt64, length: UInt64, accountKey: AccountKey) async throws -> [PageRange] {
        try await withDisk(account, name, accountKey) { disk in
            try check(offset, length, pages: false, in: disk, "page ranges")
            guard length > 0 else { return [] }
            let end = offset + length, size = DiskLimits.chunkSize, perRegion = DiskLimits.chunksPerRegion
            let chunks = offset / size..<(end - 1) / size + 1
            var ranges: [PageRange] = [], missing = false
            for region in chunks.lowerBound / perRegion...(chunks.upperBound - 1) / perRegion {
                let map = try self.region(disk, region)
                let stored = try await storedChunks(map, chunks.clamped(to: region * perRegion..<(region + 1) * perRegion))
                if stored.isEmpty { missing = true }
                for chunk in stored {
                    let start = max(chunk * size, offset), stop = min((chunk + 1) * size, end)
                    if let last = ranges.last, last.offset + last.length == start {
                        ranges[ranges.count - 1].length += stop - start
                    } else {
                        ranges.append(PageRange(offset: start, length: stop - start))
                    }
                }
            }
            // Nothing in a region: never written, or the disk's maps deleted since it was remembered?
            if missing { try await confirm(disk, name, accountKey) }
            return ranges
        }
    }
}
