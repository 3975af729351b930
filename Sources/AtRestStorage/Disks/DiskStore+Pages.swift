/// Writing, clearing and reading pages, and the written ranges: the
/// shared chunk engine (`ChunkedData`, `.disk` geometry) after the disk's
/// own checks (512-byte pages, the disk's size).
extension DiskStore {
    /// Writes `data` (a multiple of 512 bytes, 512 B to 4 MiB) at `offset`
    /// (a multiple of 512; the range within the disk); durable on return.
    /// Atomic per 512-byte page, not per call: a crash or a racing writer
    /// can leave some pages of the call written and others not.
    public func writePages(account: String, name: String, offset: UInt64, data: [UInt8], accountKey: AccountKey) async throws {
        try DiskLimits.check(io: data.count, "a page write")
        try await withDisk(account, name, accountKey) { disk in
            try check(offset, UInt64(data.count), pages: true, in: disk, "write")
            try await chunks(disk, name, accountKey).write(at: offset, data)
        }
    }

    /// Several page writes in one call (an NBD gateway's writes in flight
    /// at once): each range as `writePages(offset:data:)`'s, no two
    /// overlapping, 1 to `maxRanges` of them and 512 B to 4 MiB in all.
    /// Durable on return; atomic per 512-byte page, not per range or call.
    /// A range that breaks a rule fails the call before anything is written.
    public func writePages(account: String, name: String, ranges: [(offset: UInt64, data: [UInt8])], accountKey: AccountKey) async throws {
        guard (1...DiskLimits.maxRanges).contains(ranges.count) else {
            throw StorageError(.invalidArgument, "a page write of ranges takes 1 to \(DiskLimits.maxRanges) ranges, not \(ranges.count)")
        }
        try DiskLimits.check(io: ranges.reduce(0) { $0 + $1.data.count }, "a page write")
        guard ranges.allSatisfy({ !$0.data.isEmpty }) else {
            throw StorageError(.invalidArgument, "a page write range holds 512 bytes or more, not 0")
        }
        let sorted = ranges.map { ($0.offset, UInt64($0.data.count)) }.sorted { $0.0 < $1.0 }
        for (range, next) in zip(sorted, sorted.dropFirst()) where range.0 + range.1 > next.0 {
            throw StorageError(.invalidArgument, "page write ranges [\(range.0), \(range.0 + range.1)) and [\(next.0), \(next.0 + next.1)) overlap")
        }
        try await withDisk(account, name, accountKey) { disk in
            for range in ranges { try check(range.offset, UInt64(range.data.count), pages: true, in: disk, "write") }
            try await chunks(disk, name, accountKey).write(ranges.map { ($0.offset, $0.data) })
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
            try await chunks(disk, name, accountKey).clear(at: offset, length: length)
        }
    }

    /// `length` bytes (1 B to 4 MiB, any offset and length within the
    /// disk) at `offset`; what was never written (or was cleared) reads as zeros.
    public func readPages(account: String, name: String, offset: UInt64, length: Int, accountKey: AccountKey) async throws -> [UInt8] {
        try await readPagesBuffer(account: account, name: name, offset: offset, length: length, accountKey: accountKey).bytes
    }

    /// The same, decrypted straight into the buffer returned (pooled,
    /// page-aligned: the worker's reply frame, no copy after the cipher).
    public func readPagesBuffer(account: String, name: String, offset: UInt64, length: Int, accountKey: AccountKey) async throws -> AlignedBuffer {
        try DiskLimits.check(io: length, "a page read")
        return try await withDisk(account, name, accountKey) { disk in
            try check(offset, UInt64(length), pages: false, in: disk, "read")
            return try await chunks(disk, name, accountKey).read(at: offset, length: length)
        }
    }

    /// The ranges of [offset, offset + length) (within the disk) that hold
    /// written data, ascending and merged: a chunk (4 KiB) with a record
    /// counts whole, so a range is 4 KiB-aligned except where it is cut to
    /// [offset, offset + length). Cleared and never-written ranges are not listed.
    public func pageRanges(account: String, name: String, offset: UInt64, length: UInt64, accountKey: AccountKey) async throws -> [PageRange] {
        try await withDisk(account, name, accountKey) { disk in
            try check(offset, length, pages: false, in: disk, "page ranges")
            return try await chunks(disk, name, accountKey).storedRanges(at: offset, length: length).map {
                PageRange(offset: $0.lowerBound, length: $0.upperBound - $0.lowerBound)
            }
        }
    }

    /// The disk's data as the chunk engine addresses it. A missing region
    /// map met by a read is checked with `confirm`; one a write is about to
    /// make, against the disk read now (another one, or another size:
    /// `DiskChanged`, the call starts over; gone: `.notFound`); once made,
    /// the map is dropped again when the disk is gone or another one.
    func chunks(_ disk: Disk, _ name: String, _ accountKey: AccountKey) -> ChunkedData {
        ChunkedData(backend: backend, geometry: .disk, account: disk.account, id: disk.id, container: disk.container,
                    accountKey: accountKey) { [self] missing in
            switch missing {
            case .reading: try await confirm(disk, name, accountKey)
            case .creating: guard try await lookUp(disk.account, name, accountKey).same(disk) else { throw DiskChanged() }
            case .created: guard try await lookUp(disk.account, name, accountKey).id == disk.id else { throw DiskChanged() }
            }
        }
    }
}
