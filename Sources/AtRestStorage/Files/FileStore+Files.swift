import AtRestCrypto

/// Files: create, write, read, resize, flush, delete.
extension FileStore {
    /// A new file at `path` of `size` bytes (up to 4 TiB; reads as zeros,
    /// stores nothing until written; counts against the quota). A file of
    /// at most `FileLimits.inlineBytes` starts with its data in its inode.
    ///
    /// With `data` (at most 4 MiB; `size` then 0 or its length), the file is
    /// created holding it: in the create's one batch when it fits inline
    /// (atomic: the file appears with its bytes or not at all), else
    /// created empty and then written (a crash between leaves it shorter).
    /// With `mtime` (ms since the epoch) the file's modification time is
    /// that, not now: in the create's batch, or for a file written after
    /// its create, set once it is written.
    @discardableResult
    public func createFile(account: String, share: String, path: String, size: UInt64 = 0, mode: UInt32 = 0o644,
                           metadata: [String: String] = [:], data: [UInt8] = [], mtime: Int64? = nil,
                           accountKey: AccountKey) async throws -> FileInfo {
        guard !data.isEmpty else {
            return try await create(account, share, path, .file, size: size, mode: mode, metadata: metadata, accountKey, mtime: mtime)
        }
        try FileLimits.check(io: data.count, "a file created with data")
        guard size == 0 || size == UInt64(data.count) else {
            throw StorageError(.invalidArgument, "a file created with \(data.count) bytes of data cannot have size \(size)")
        }
        guard UInt64(data.count) > FileLimits.inlineBytes else {
            return try await create(account, share, path, .file, size: UInt64(data.count), mode: mode, metadata: metadata, accountKey,
                                    inline: data, mtime: mtime)
        }
        _ = try await create(account, share, path, .file, size: 0, mode: mode, metadata: metadata, accountKey)
        try await writeFile(account: account, share: share, path: path, offset: 0, data: data, accountKey: accountKey)
        if let mtime { return try await setTimes(account: account, share: share, path: path, mtime: mtime, accountKey: accountKey) }
        return try await properties(account: account, share: share, path: path, accountKey: accountKey)
    }

    /// Writes `data` (1 B to 4 MiB) at `offset` (any; the file grows when
    /// the write ends past its size, within the quota); durable on return.
    ///
    /// The chunks are written first (whole chunks set, partly covered ones
    /// read-modify-written conditionally: the disk engine's rules), then,
    /// only when the file grows, its inode and the usage in one batch. A
    /// write within the size does not touch the tree (mtime is stamped by
    /// `flushFile` and `setTimes`), so writers of different ranges of one
    /// file run side by side. Not atomic per call: a crash can leave some
    /// chunks written; a write that grew the file but crashed before the
    /// size was stored leaves its bytes past the end, where a later write
    /// that grows the file past them (not a resize, which clears) shows them.
    public func writeFile(account: String, share: String, path: String, offset: UInt64, data bytes: [UInt8], accountKey: AccountKey) async throws {
        try FileLimits.check(io: bytes.count, "a file write")
        try FileLimits.check(range: offset, UInt64(bytes.count), "write")
        let s = try await self.share(account, share, accountKey), path = try FilePath(path)
        let end = offset + UInt64(bytes.count)
        var node = try await retrying { try await self.fileNode(path, s, accountKey) }
        if node.record.inline != nil {
            switch try await writeInline(s, path, node, offset: offset, bytes, accountKey) {
            case .done: return
            case .chunked(let chunked): node = chunked
            }
        }
        if end > node.record.size {
            try quota(s, try usage(try await read(s, [Self.usageKey])[Self.usageKey], s, accountKey), growth: end - node.record.size)
        }
        try await data(s, node, accountKey).write(at: offset, bytes)
        if end > node.record.size { try await grow(s, path, node, to: end, accountKey) }
    }

    /// Stores size `end` for the file `node` when it is smaller, and the usage, retried.
    private func grow(_ s: Share, _ path: FilePath, _ node: Node, to end: UInt64, _ key: AccountKey) async throws {
        try await retrying { () async throws -> Bool? in
            let found = try await read(s, [node.key, Self.usageKey])
            let read = try found[node.key].map { try self.node(node.id, $0, s, key) }
            guard var now = read, now.record.dataID == node.record.dataID else {
                // Deleted meanwhile: its delete removed the regions of the size it saw; these may lie past it.
                try await deleteData(s, node.record.dataID, size: end, key)
                throw Self.notFound(s, path)
            }
            guard end > now.record.size else { return true }
            var usage = try usage(found[Self.usageKey], s, key)
            usage.bytes += end - now.record.size
            now.record.size = end
            now.record.mtime = clock()
            now.record.changed(at: now.record.mtime)
            var change = TreeChange()
            change.set(now.key, try sealNode(now.id, now.record, s, key), expecting: now.sealed)
            change.set(Self.usageKey, try seal(usage.encoded, "file-usage", s, Self.usageKey, key), expecting: found[Self.usageKey])
            return try await commit(change, s) ? true : nil
        }
    }

    /// Up to `length` (1 B to 4 MiB) bytes at `offset`, cut at the file's
    /// size (none at or past it); zeros where nothing was written.
    public func readFile(account: String, share: String, path: String, offset: UInt64, length: Int, accountKey: AccountKey) async throws -> [UInt8] {
        try await readFileBuffer(account: account, share: share, path: path, offset: offset, length: length, accountKey: accountKey).bytes
    }

    /// The same, decrypted straight into the buffer returned (pooled,
    /// page-aligned: the worker's reply frame, no copy after the cipher).
    public func readFileBuffer(account: String, share: String, path: String, offset: UInt64, length: Int,
                               accountKey: AccountKey) async throws -> AlignedBuffer {
        try FileLimits.check(io: length, "a file read")
        let s = try await self.share(account, share, accountKey), path = try FilePath(path)
        let node = try await retrying { try await self.fileNode(path, s, accountKey) }
        guard offset < node.record.size else { return AlignedBuffer(count: 0) }
        if let inline = node.record.inline {
            return AlignedBuffer(Array(inline[Int(offset) ..< Int(min(UInt64(inline.count), offset + UInt64(length)))]))
        }
        return try await data(s, node, accountKey).read(at: offset, length: Int(min(UInt64(length), node.record.size - offset)))
    }

    /// Truncates or extends the file to `size` bytes (up to 4 TiB, within
    /// the quota). The data in [min(old, new), max(old, new)) is cleared
    /// first, also when growing (what a racing write left past the old
    /// end reads as zeros), then the inode and the usage change in one batch.
    @discardableResult
    public func resizeFile(account: String, share: String, path: String, size: UInt64, accountKey: AccountKey) async throws -> FileInfo {
        try FileLimits.validate(size: size)
        let s = try await self.share(account, share, accountKey), path = try FilePath(path)
        return try await retrying { () async throws -> FileInfo? in
            var node = try await fileNode(path, s, accountKey)
            if node.record.inline != nil {
                switch try await resizeInline(s, path, node, to: size, accountKey) {
                case .done(let record): return record.info(path.name)
                case .chunked(let chunked): node = chunked
                }
            }
            let found = try await read(s, [Self.usageKey])
            var usage = try usage(found[Self.usageKey], s, accountKey)
            let old = node.record.size
            guard size != old else { return node.record.info(path.name) }
            if size > old { try quota(s, usage, growth: size - old) }
            try await data(s, node, accountKey).clear(at: min(old, size), length: max(old, size) - min(old, size))
            usage.bytes = usage.bytes - min(usage.bytes, old) + size
            let now = clock()
            (node.record.size, node.record.mtime) = (size, now)
            node.record.changed(at: now)
            var change = TreeChange()
            change.set(node.key, try sealNode(node.id, node.record, s, accountKey), expecting: node.sealed)
            change.set(Self.usageKey, try seal(usage.encoded, "file-usage", s, Self.usageKey, accountKey), expecting: found[Self.usageKey])
            return try await commit(change, s) ? node.record.info(path.name) : nil
        }
    }

    /// Every write is durable when it returns (the local backend's WAL is
    /// fsynced, RADOS acknowledges once replicated), so a flush only
    /// stamps the file's mtime (now).
    @discardableResult
    public func flushFile(account: String, share: String, path: String, accountKey: AccountKey) async throws -> FileInfo {
        let now = clock()
        return try await change(account, share, path, accountKey) { record in
            record.mtime = now
        }
    }

    /// Removes the file at `path` (`.isDirectory` for a directory): the
    /// entry, the inode, the parent's new mtime, the usage and a tombstone
    /// for the data in one batch; then the data's region maps, then the
    /// tombstone. A crash in between leaves the tombstone, which the next
    /// delete in the share (or `sweepTombstones`) finishes.
    public func deleteFile(account: String, share: String, path: String, accountKey: AccountKey) async throws {
        let s = try await self.share(account, share, accountKey), path = try FilePath(path)
        try await sweep(s, accountKey)
        try await removeFile(s, path, accountKey)
    }

    func removeFile(_ s: Share, _ path: FilePath, _ key: AccountKey) async throws {
        let tombstoneKey: String, tombstone: [UInt8], removed: Node
        (tombstoneKey, tombstone, removed) = try await retrying { () async throws -> (String, [UInt8], Node)? in
            let (link, node) = try await file(path, s, key)
            let found = try await read(s, [Self.inodeKey(link.parent), Self.usageKey])
            guard let parentSealed = found[Self.inodeKey(link.parent)] else { throw TreeChanged() }
            var parent = try self.node(link.parent, parentSealed, s, key)
            var usage = try usage(found[Self.usageKey], s, key)
            usage.bytes -= min(usage.bytes, node.record.size)
            usage.files -= min(usage.files, 1)
            var change = TreeChange()
            change.remove(link.key, expecting: link.sealed)
            change.remove(node.key, expecting: node.sealed)
            try touch(&parent, &change, s, key)
            change.set(Self.usageKey, try seal(usage.encoded, "file-usage", s, Self.usageKey, key), expecting: found[Self.usageKey])
            let (tombstoneKey, tombstone) = try bury(node, &change, s, key)
            return try await commit(change, s) ? (tombstoneKey, tombstone, node) : nil
        }
        try await finish(tombstoneKey, tombstone, dataID: removed.record.dataID, size: removed.record.size, s, key)
    }

    /// The file at `path` and its entry: `.isDirectory` for a directory.
    func file(_ path: FilePath, _ s: Share, _ key: AccountKey) async throws -> (link: Link, node: Node) {
        guard !path.isRoot else { throw StorageError(.isDirectory, "'/' in share '\(s.name)' is a directory") }
        let found = try await resolve(path, s, key)
        guard found.node.record.kind == .file else { throw StorageError(.isDirectory, "'\(path)' in share '\(s.name)' is a directory") }
        return found
    }

    func fileNode(_ path: FilePath, _ s: Share, _ key: AccountKey) async throws -> Node { try await file(path, s, key).node }
}
