import AtRestCrypto

/// Creating, deleting, listing and describing shares.
extension FileStore {
    /// A new, empty share (its root directory only) of `quota` bytes (1 B to
    /// 5 PiB); `.alreadyExists` when the account has a share of that name.
    ///
    /// The tree (map, root inode, usage) is made before the share record
    /// names it, so no call ever finds a share without a tree; a crash in
    /// between leaves an empty tree map under a random id that nothing
    /// names (no data, no names).
    @discardableResult
    public func createShare(account: String, name: String, quota: UInt64, metadata: [String: String] = [:],
                            accountKey: AccountKey) async throws -> ShareInfo {
        try FileLimits.validate(shareName: name)
        try FileLimits.validate(quota: quota)
        try FileLimits.validate(metadata: metadata, of: "share")
        let directory = try shareDirectory(account, accountKey), recordKey = try shareKey(account, name, accountKey)
        _ = try await StorageError.succeeds(unless: .alreadyExists) { try await self.backend.createRecordMap(directory) }
        let now = clock()
        let record = ShareRecord(id: try SecureRandom.bytes(ShareRecord.idSize), quota: quota, creationTime: now, name: name, metadata: metadata)
        let container = try accountKey.accountContainer(account)
        let sealed = try SealedRecord.seal(try record.encoded, context: Self.shareContext(account), map: directory, key: recordKey, accountKey: accountKey)
        let s = Share(account: account, name: name, record: record, sealed: sealed, container: container, tree: try Self.treeMap(container, record.id))
        try await backend.createRecordMap(s.tree)
        let root = InodeRecord(kind: .directory, mode: 0o755, size: 0, ctime: now, mtime: now, parent: InodeRecord.rootID,
                               dataID: InodeRecord.rootID, metadata: [:])
        var tree = TreeChange()
        tree.set(Self.inodeKey(InodeRecord.rootID), try sealNode(InodeRecord.rootID, root, s, accountKey), expecting: nil)
        tree.set(Self.usageKey, try seal(UsageRecord(bytes: 0, files: 0, directories: 0).encoded, "file-usage", s, Self.usageKey, accountKey),
                 expecting: nil)
        try await backend.apply(tree.batch, to: s.tree)
        let batch = RecordBatch(conditions: [.absent(recordKey)], sets: [recordKey: sealed])
        guard try await StorageError.succeeds(unless: .conditionFailed, { try await self.backend.apply(batch, to: directory) }) else {
            _ = try await StorageError.succeeds(unless: .notFound) { try await self.backend.deleteRecordMap(s.tree) }
            throw StorageError(.alreadyExists, "share '\(name)' already exists in account '\(account)'")
        }
        return ShareInfo(name: name, quota: quota, usageBytes: 0, files: 0, directories: 0, creationTime: now, metadata: metadata)
    }

    /// Removes the share with every directory, file and its data (`.notFound`).
    ///
    /// Data first (every file's and every tombstone's region maps), then the
    /// tree map, then the share record: a crash on the way leaves the share
    /// named, and deleting it again finishes the work.
    public func deleteShare(account: String, name: String, accountKey: AccountKey) async throws {
        let s = try await share(account, name, accountKey)
        var after: String?
        repeat {
            let page: RecordPage
            do {
                page = try await backend.records(s.tree, after: after, limit: 1000)
            } catch let error as StorageError where error.code == .notFound {
                break  // the tree is gone already (an earlier delete stopped after it)
            }
            for record in page.records {
                if record.key.hasPrefix("n-"), let id = Hex.decode(String(record.key.dropFirst(2))), id.count == InodeRecord.idSize {
                    let node = try node(id, record.value, s, accountKey)
                    if node.record.kind == .file { try await deleteData(s, node.record.dataID, size: node.record.size, accountKey) }
                } else if record.key.hasPrefix(Self.tombstonePrefix) {
                    try await finish(tombstone: record, s, accountKey, removing: false)
                }
            }
            after = page.more ? page.records.last?.key : nil
        } while after != nil
        _ = try await StorageError.succeeds(unless: .notFound) { try await self.backend.deleteRecordMap(s.tree) }
        let directory = try shareDirectory(account, accountKey), recordKey = try shareKey(account, name, accountKey)
        var sealed = s.sealed
        while true {
            let batch = RecordBatch(conditions: [.equals(recordKey, sealed)], removes: [recordKey])
            if try await StorageError.succeeds(unless: .conditionFailed, { try await self.backend.apply(batch, to: directory) }) { return }
            // Changed meanwhile (quota, metadata): remove it if it is still this share.
            let now = try await share(account, name, accountKey)
            guard now.record.id == s.record.id else { return }
            sealed = now.sealed
        }
    }

    /// The share's quota, usage, creation time and metadata.
    public func shareProperties(account: String, name: String, accountKey: AccountKey) async throws -> ShareInfo {
        let s = try await share(account, name, accountKey)
        return info(s, try usage(try await read(s, [Self.usageKey])[Self.usageKey], s, accountKey))
    }

    /// Sets the share's quota (1 B to 5 PiB). A quota below the usage is
    /// allowed: writes that grow files fail until enough is deleted.
    @discardableResult
    public func setShareQuota(account: String, name: String, quota: UInt64, accountKey: AccountKey) async throws -> ShareInfo {
        try FileLimits.validate(quota: quota)
        return try await changeShare(account, name, accountKey) { $0.quota = quota }
    }

    /// Replaces the share's metadata.
    @discardableResult
    public func setShareMetadata(account: String, name: String, metadata: [String: String], accountKey: AccountKey) async throws -> ShareInfo {
        try FileLimits.validate(metadata: metadata, of: "share")
        return try await changeShare(account, name, accountKey) { $0.metadata = metadata }
    }

    /// Shares whose names start with `prefix`, by name, after `continuation` (a name from the last page).
    public func listShares(account: String, prefix: String = "", continuation: String? = nil, limit: Int = 1000,
                           accountKey: AccountKey) async throws -> ShareListing {
        guard FileLimits.listPage.contains(limit) else { throw StorageError(.invalidArgument, "list 1-1000 shares at a time, not \(limit)") }
        let directory = try shareDirectory(account, accountKey), container = try accountKey.accountContainer(account)
        var shares: [Share] = []
        // No directory: the account never had a share.
        for entry in try await backend.allRecords(directory) ?? [] {
            let record = try ShareRecord(decoding: try SealedRecord.open(entry.value, context: Self.shareContext(account), map: directory,
                                                                         key: entry.key, accountKey: accountKey))
            guard record.name.hasPrefix(prefix), continuation.map({ record.name > $0 }) ?? true else { continue }
            shares.append(Share(account: account, name: record.name, record: record, sealed: entry.value, container: container,
                                tree: try Self.treeMap(container, record.id)))
        }
        // Names are hashed in the directory: the order by name is made here.
        shares.sort { $0.name < $1.name }
        var page: [ShareInfo] = []
        for s in shares.prefix(limit) {
            do {
                page.append(info(s, try usage(try await read(s, [Self.usageKey])[Self.usageKey], s, accountKey)))
            } catch let error as StorageError where error.code == .notFound {
                continue  // deleted meanwhile
            }
        }
        return ShareListing(shares: page, continuation: shares.count > limit ? shares[limit - 1].name : nil)
    }

    func info(_ s: Share, _ usage: UsageRecord) -> ShareInfo {
        ShareInfo(name: s.name, quota: s.record.quota, usageBytes: usage.bytes, files: usage.files, directories: usage.directories,
                  creationTime: s.record.creationTime, metadata: s.record.metadata)
    }

    /// Applies `edit` to the share's record, conditional on the record read (again when it changed meanwhile).
    private func changeShare(_ account: String, _ name: String, _ accountKey: AccountKey,
                             _ edit: (inout ShareRecord) -> Void) async throws -> ShareInfo {
        let directory = try shareDirectory(account, accountKey), recordKey = try shareKey(account, name, accountKey)
        while true {
            var s = try await share(account, name, accountKey)
            edit(&s.record)
            let resealed = try SealedRecord.seal(try s.record.encoded, context: Self.shareContext(account), map: directory, key: recordKey,
                                                 accountKey: accountKey)
            let batch = RecordBatch(conditions: [.equals(recordKey, s.sealed)], sets: [recordKey: resealed])
            if try await StorageError.succeeds(unless: .conditionFailed, { try await self.backend.apply(batch, to: directory) }) {
                s.sealed = resealed
                return info(s, try usage(try await read(s, [Self.usageKey])[Self.usageKey], s, accountKey))
            }
        }
    }
}
