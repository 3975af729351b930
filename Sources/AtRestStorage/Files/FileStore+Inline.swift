import AtRestCrypto

/// Small files: data in the inode record (docs/FORMAT.md "Files"). A file
/// created with at most `FileLimits.inlineBytes` bytes keeps them in its
/// inode, so creating and writing it is one tree batch each, with no chunk
/// map; once a write or a resize takes it past the limit its data moves to
/// chunks for good (it never moves back).
extension FileStore {
    /// What a write or resize of an inline file did.
    enum InlineOutcome {
        /// Done in the inode.
        case done(InodeRecord)
        /// The file's data is (now) in chunks: carry on as for any chunked file with this node.
        case chunked(Node)
    }

    /// Writes `bytes` at `offset` into the inline file `first`, in its inode
    /// (with the usage when it grows) while it stays within the limit; past
    /// it, moves its data to chunks first. Stamps the mtime (one batch anyway).
    func writeInline(_ s: Share, _ path: FilePath, _ first: Node, offset: UInt64, _ bytes: [UInt8], _ key: AccountKey) async throws -> InlineOutcome {
        let end = offset + UInt64(bytes.count)
        return try await editInline(s, path, first, size: { max($0, end) }, key) { data in
            data.replaceSubrange(Int(offset) ..< Int(end), with: bytes)
        }
    }

    /// Truncates or extends the inline file `first` to `size` (zeros past its old end).
    func resizeInline(_ s: Share, _ path: FilePath, _ first: Node, to size: UInt64, _ key: AccountKey) async throws -> InlineOutcome {
        try await editInline(s, path, first, size: { _ in size }, key) { _ in }
    }

    /// The inline edit loop: `size` maps the current size to the new one;
    /// `edit` changes the data already cut or padded with zeros to it.
    private func editInline(_ s: Share, _ path: FilePath, _ first: Node, size newSize: (UInt64) -> UInt64, _ key: AccountKey,
                            _ edit: (inout [UInt8]) -> Void) async throws -> InlineOutcome {
        var node = first
        while true {
            guard let inline = node.record.inline else { return .chunked(node) }
            let size = newSize(node.record.size)
            if size > FileLimits.inlineBytes {
                try await moveToChunks(s, node, key)
            } else {
                var data = Array(inline.prefix(Int(size)))
                if data.count < Int(size) { data += [UInt8](repeating: 0, count: Int(size) - data.count) }
                edit(&data)
                var change = TreeChange()
                if size != node.record.size {
                    let found = try await read(s, [Self.usageKey])
                    var usage = try usage(found[Self.usageKey], s, key)
                    if size > node.record.size { try quota(s, usage, growth: size - node.record.size) }
                    usage.bytes = usage.bytes - min(usage.bytes, node.record.size) + size
                    change.set(Self.usageKey, try seal(usage.encoded, "file-usage", s, Self.usageKey, key), expecting: found[Self.usageKey])
                }
                var record = node.record
                let now = clock()
                (record.inline, record.size, record.mtime) = (data, size, now)
                record.changed(at: now)
                change.set(node.key, try sealNode(node.id, record, s, key), expecting: node.sealed)
                if try await commit(change, s) { return .done(record) }
            }
            node = try await retrying { try await self.fileNode(path, s, key) }
        }
    }

    /// Moves the data of the inline file `node` to chunks (the caller reads
    /// the node again whether or not this won: another call may have come
    /// first). An empty file only loses its (empty) inline data: no chunk
    /// of its data id exists. A non-empty one gets a new data id: a
    /// tombstone for it first, its bytes written there, then the inode
    /// (chunked, with the new id) and the tombstone's removal in one batch;
    /// when that batch loses, or a crash comes in between, the tombstone
    /// removes the new data (`sweepTombstones`), so no other call's bytes
    /// are ever overwritten by a stale copy.
    private func moveToChunks(_ s: Share, _ node: Node, _ key: AccountKey) async throws {
        guard let inline = node.record.inline else { return }
        var record = node.record
        record.inline = nil
        var change = TreeChange()
        guard !inline.isEmpty else {
            change.set(node.key, try sealNode(node.id, record, s, key), expecting: node.sealed)
            _ = try await commit(change, s)
            return
        }
        let dataID = try SecureRandom.bytes(InodeRecord.idSize)
        var moved = node
        moved.record.dataID = dataID
        var bury = TreeChange()
        let (tombstoneKey, tombstone) = try self.bury(moved, &bury, s, key)
        guard try await commit(bury, s) else { throw StorageError.integrity("a fresh data id already has a tombstone") }
        let chunks = ChunkedData(backend: backend, geometry: .file, account: s.account, id: dataID, container: s.container, accountKey: key) { _ in }
        try await chunks.write(at: 0, inline)
        record.dataID = dataID
        change.set(node.key, try sealNode(node.id, record, s, key), expecting: node.sealed)
        change.remove(tombstoneKey, expecting: tombstone)
        if try await commit(change, s) { return }
        try await finish(tombstoneKey, tombstone, dataID: dataID, size: UInt64(inline.count), s, key)
    }
}
