import AtRestWire

extension FileClient {
    /// Copies a local file into the share as a new file at `path` (created
    /// with the local file's length, so the quota is checked once up
    /// front), in WriteFile calls of up to 4 MiB with at most
    /// `parallelism` in flight; all-zero 4 MiB blocks are not sent (the
    /// new file reads as zeros there). With `replace`, an existing file at
    /// `path` is deleted first. `progress` sees the bytes done. Returns
    /// the file's length.
    @discardableResult
    public func uploadFile(_ local: String, share: String, path: String, replace: Bool = false, parallelism: Int = 4,
                           progress: BlobProgress? = nil) async throws -> UInt64 {
        guard (1...64).contains(parallelism) else { throw RPCStatus(.invalidArgument, "parallelism must be 1-64, not \(parallelism)") }
        let file = try BlobFile.openForReading(local)
        defer { file.close() }
        let length = try file.size
        if replace {
            do { try await deleteFile(share, path) } catch let status as RPCStatus where status.code == .notFound {}
        }
        try await createFile(share, path, size: length)
        try await withThrowingTaskGroup(of: UInt64.self) { group in
            var inFlight = 0, done: UInt64 = 0, offset: UInt64 = 0
            func collect(_ bytes: UInt64) {
                inFlight -= 1
                done += bytes
                progress?(done, length)
            }
            while offset < length {
                let block = try await file.read(at: offset, count: Int(min(UInt64(FileMethod.maxIO), length - offset)))
                while inFlight >= parallelism, let finished = try await group.next() { collect(finished) }
                inFlight += 1
                let at = offset
                if block.allSatisfy({ $0 == 0 }) {
                    group.addTask { UInt64(block.count) }
                } else {
                    group.addTask { try await writeFile(share, path, offset: at, parts: [PayloadPart(block)]); return UInt64(block.count) }
                }
                offset += UInt64(block.count)
            }
            while let finished = try await group.next() { collect(finished) }
        }
        if length == 0 { progress?(0, 0) }
        return length
    }

    /// Copies the file at `path` into a local file (created or truncated,
    /// mode 0600, then synced) in ReadFile calls of up to 4 MiB with at
    /// most `parallelism` in flight. `progress` sees the bytes done.
    /// Returns the length copied (the file's size when the copy began).
    @discardableResult
    public func downloadFile(share: String, path: String, to local: String, parallelism: Int = 4,
                             progress: BlobProgress? = nil) async throws -> UInt64 {
        guard (1...64).contains(parallelism) else { throw RPCStatus(.invalidArgument, "parallelism must be 1-64, not \(parallelism)") }
        let info = try await properties(share, path)
        guard info.isFile else { throw RPCStatus(.failedPrecondition, "'\(path)' is a directory, not a file") }
        let size = info.size
        let file = try BlobFile.create(local)
        defer { file.close() }
        try await file.setLength(size)
        try await withThrowingTaskGroup(of: UInt64.self) { group in
            var inFlight = 0, done: UInt64 = 0, offset: UInt64 = 0
            func collect(_ bytes: UInt64) {
                inFlight -= 1
                done += bytes
                progress?(done, size)
            }
            while offset < size {
                while inFlight >= parallelism, let finished = try await group.next() { collect(finished) }
                let at = offset, count = Int(min(UInt64(FileMethod.maxIO), size - offset))
                inFlight += 1
                group.addTask {
                    var position = at
                    let parts = try await readFileParts(share, path, offset: at, length: count)
                    for part in parts {
                        try await file.write(part, at: position)
                        position += UInt64(part.count)
                    }
                    guard position - at == UInt64(count) else {
                        throw RPCStatus(.aborted, "'\(path)' shrank while it was copied (\(position) of \(size) bytes read)")
                    }
                    return UInt64(count)
                }
                offset += UInt64(count)
            }
            while let finished = try await group.next() { collect(finished) }
        }
        try await file.sync()
        if size == 0 { progress?(0, 0) }
        return size
    }
}
