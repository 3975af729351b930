import AtRestWire

/// What `DiskClient.importFile` did.
public struct DiskImportSummary: Sendable, Equatable {
    /// The file's length: the disk's bytes [0, length) now hold the file
    /// (a last partial page padded with zeros).
    public var length: UInt64
    /// Bytes sent in PutPages calls.
    public var written: UInt64
    /// Bytes of all-zero 4 KiB chunks not sent (cleared, or skipped on a new disk).
    public var zeros: UInt64
}

/// What `DiskClient.exportFile` did.
public struct DiskExportSummary: Sendable, Equatable {
    /// The disk's size: the file's length.
    public var length: UInt64
    /// Bytes read from written ranges (the rest of the file is holes).
    public var read: UInt64
}

extension DiskClient {
    /// Copies a local file into the disk from offset 0, in calls of up to
    /// 4 MiB with at most `parallelism` in flight. Sparse: all-zero 4 KiB
    /// chunks are not sent; with `clearZeros` (a disk that may hold data)
    /// they are cleared instead, so the disk's first `length` bytes equal
    /// the file (a last partial page padded with zeros); without it (a
    /// disk just created, all zeros) they are skipped. Bytes beyond the
    /// file are left as they are. The disk must be at least as large as
    /// the file. `progress` sees the file's bytes done.
    public func importFile(_ path: String, to disk: String, clearZeros: Bool, parallelism: Int = 4,
                           progress: BlobProgress? = nil) async throws -> DiskImportSummary {
        guard (1...64).contains(parallelism) else { throw RPCStatus(.invalidArgument, "parallelism must be 1-64, not \(parallelism)") }
        let file = try BlobFile.openForReading(path)
        defer { file.close() }
        let length = try file.size
        let size = try await properties(disk).size
        guard length <= size else {
            throw RPCStatus(.invalidArgument, "'\(path)' (\(length) bytes) is larger than disk '\(disk)' (\(size) bytes): resize the disk first")
        }
        var summary = DiskImportSummary(length: length, written: 0, zeros: 0)
        try await withThrowingTaskGroup(of: (sent: Bool, bytes: UInt64).self) { group in
            var inFlight = 0, done: UInt64 = 0
            func collect(_ finished: (sent: Bool, bytes: UInt64)) {
                inFlight -= 1
                if finished.sent { summary.written += finished.bytes } else { summary.zeros += finished.bytes }
                done = min(length, done + finished.bytes)
                progress?(done, length)
            }
            var offset: UInt64 = 0
            while offset < length {
                var block = try await file.read(at: offset, count: Int(min(UInt64(DiskMethod.maxIO), length - offset)))
                let pad = (DiskMethod.pageSize - block.count % DiskMethod.pageSize) % DiskMethod.pageSize
                block.append(contentsOf: repeatElement(0, count: pad))
                for run in Self.runs(block) {
                    while inFlight >= parallelism, let finished = try await group.next() { collect(finished) }
                    let at = offset + UInt64(run.range.lowerBound), count = UInt64(run.range.count)
                    inFlight += 1
                    if !run.zeros {
                        let part = PayloadPart(block, range: run.range)  // sent from the block itself, no copy
                        group.addTask { try await putPages(disk, offset: at, parts: [part]); return (true, count) }
                    } else if clearZeros {
                        group.addTask { try await clearPages(disk, offset: at, length: count); return (false, count) }
                    } else {
                        group.addTask { (false, count) }
                    }
                }
                offset += UInt64(DiskMethod.maxIO)
            }
            while let finished = try await group.next() { collect(finished) }
        }
        if length == 0 { progress?(0, 0) }
        return summary
    }

    /// Copies the whole disk into a local file (created or truncated,
    /// mode 0600, then synced): the file gets the disk's size and only the
    /// written ranges are read (calls of up to 4 MiB, at most
    /// `parallelism` in flight); the rest stays holes that read as zeros.
    /// `progress` sees the bytes of written ranges done.
    public func exportFile(_ disk: String, to path: String, parallelism: Int = 4,
                           progress: BlobProgress? = nil) async throws -> DiskExportSummary {
        guard (1...64).contains(parallelism) else { throw RPCStatus(.invalidArgument, "parallelism must be 1-64, not \(parallelism)") }
        let size = try await properties(disk).size
        let ranges = try await pageRanges(disk)
        let total = ranges.reduce(0) { $0 + $1.length }
        let file = try BlobFile.create(path)
        defer { file.close() }
        try await file.setLength(size)
        try await withThrowingTaskGroup(of: UInt64.self) { group in
            var inFlight = 0, done: UInt64 = 0
            func collect(_ bytes: UInt64) {
                inFlight -= 1
                done += bytes
                progress?(done, total)
            }
            for range in ranges {
                var at = range.offset
                while at < range.offset + range.length {
                    while inFlight >= parallelism, let finished = try await group.next() { collect(finished) }
                    let offset = at, count = Int(min(UInt64(DiskMethod.maxIO), range.offset + range.length - at))
                    inFlight += 1
                    group.addTask {
                        var position = offset
                        for part in try await getPageParts(disk, offset: offset, length: count) {
                            try await file.write(part, at: position)
                            position += UInt64(part.count)
                        }
                        return UInt64(count)
                    }
                    at += UInt64(count)
                }
            }
            while let finished = try await group.next() { collect(finished) }
        }
        try await file.sync()
        if total == 0 { progress?(0, 0) }
        return DiskExportSummary(length: size, read: total)
    }

    /// `block` (a multiple of 512 bytes) cut into runs of whole 4 KiB
    /// chunks (the last one perhaps shorter) that are all zeros or not.
    static func runs(_ block: [UInt8]) -> [(range: Range<Int>, zeros: Bool)] {
        let chunk = 4096
        var runs: [(range: Range<Int>, zeros: Bool)] = []
        block.withUnsafeBytes { bytes in
            var start = 0
            while start < bytes.count {
                let end = min(start + chunk, bytes.count)
                let zeros = isZero(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
                if let last = runs.last, last.zeros == zeros, last.range.upperBound == start {
                    runs[runs.count - 1].range = last.range.lowerBound..<end
                } else {
                    runs.append((start..<end, zeros))
                }
                start = end
            }
        }
        return runs
    }

    /// Whether every byte is zero (8 bytes at a time; the length is a multiple of 512).
    static func isZero(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        while index + 8 <= bytes.count {
            if bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self) != 0 { return false }
            index += 8
        }
        while index < bytes.count {
            if bytes[index] != 0 { return false }
            index += 1
        }
        return true
    }
}
