import AtRestCrypto

/// Tombstones: the data of deleted (or replaced) files still to be removed.
extension FileStore {
    /// Finishes every tombstone of the share (the data maps of files whose
    /// delete stopped after its tree batch, e.g. in a crash): the data's
    /// region maps deleted, then the tombstone. Returns how many there were.
    /// Called at the start of every delete in the share and by share delete.
    @discardableResult
    public func sweepTombstones(account: String, share: String, accountKey: AccountKey) async throws -> Int {
        try await sweep(try await self.share(account, share, accountKey), accountKey)
    }

    @discardableResult
    func sweep(_ s: Share, _ key: AccountKey) async throws -> Int {
        var count = 0, after = Self.tombstonePrefix
        while true {
            let page: RecordPage
            do {
                page = try await backend.records(s.tree, after: after, limit: 100)
            } catch let error as StorageError where error.code == .notFound {
                throw Self.shareNotFound(s.account, s.name)
            }
            for record in page.records where record.key.hasPrefix(Self.tombstonePrefix) {
                try await finish(tombstone: record, s, key, removing: true)
                count += 1
            }
            guard page.more, let last = page.records.last else { return count }
            after = last.key
        }
    }

    /// Adds to `change` the tombstone of `node`'s data (a file deleted or
    /// replaced in this batch): its key and sealed value.
    func bury(_ node: Node, _ change: inout TreeChange, _ s: Share, _ key: AccountKey) throws -> (String, [UInt8]) {
        let tombstoneKey = Self.tombstoneKey(node.record.dataID)
        let sealed = try seal(Tombstone(size: node.record.size).encoded, "file-tombstone", s, tombstoneKey, key)
        change.set(tombstoneKey, sealed, expecting: nil)
        return (tombstoneKey, sealed)
    }

    /// Deletes the data a stored tombstone names, and the tombstone when `removing`.
    func finish(tombstone record: Record, _ s: Share, _ key: AccountKey, removing: Bool) async throws {
        guard let dataID = Hex.decode(String(record.key.dropFirst(Self.tombstonePrefix.utf8.count))), dataID.count == InodeRecord.idSize else {
            throw StorageError.integrity("tree record \(record.key) is not a tombstone")
        }
        let tombstone = try Tombstone(decoding: try open(record.value, "file-tombstone", s, record.key, key))
        if removing {
            try await finish(record.key, record.value, dataID: dataID, size: tombstone.size, s, key)
        } else {
            try await deleteData(s, dataID, size: tombstone.size, key)
        }
    }

    /// The data's region maps deleted, then the tombstone (if it is still the one written).
    func finish(_ tombstoneKey: String, _ sealed: [UInt8], dataID: [UInt8], size: UInt64, _ s: Share, _ key: AccountKey) async throws {
        try await deleteData(s, dataID, size: size, key)
        var change = TreeChange()
        change.remove(tombstoneKey, expecting: sealed)
        _ = try await commit(change, s)
    }
}
