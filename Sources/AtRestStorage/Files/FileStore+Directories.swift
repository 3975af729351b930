import AtRestCrypto

/// Creating, removing and listing directories, and what files and
/// directories have in common: creation, properties and attributes.
extension FileStore {
    /// A new empty directory at `path` (its parent must exist): `.alreadyExists`
    /// when the name is taken, `.notFound` / `.notDirectory` for a bad parent.
    @discardableResult
    public func createDirectory(account: String, share: String, path: String, mode: UInt32 = 0o755, metadata: [String: String] = [:],
                                accountKey: AccountKey) async throws -> FileInfo {
        try await create(account, share, path, .directory, size: 0, mode: mode, metadata: metadata, accountKey)
    }

    /// Removes the directory at `path`: `.notEmpty` when it holds entries,
    /// unless `recursive`, which removes what it holds first, depth first,
    /// each step the verb of its own (so a crash leaves a part removed,
    /// never a broken tree).
    public func deleteDirectory(account: String, share: String, path: String, recursive: Bool = false, accountKey: AccountKey) async throws {
        let s = try await self.share(account, share, accountKey), path = try FilePath(path)
        guard !path.isRoot else { throw StorageError(.invalidArgument, "the root directory of a share cannot be deleted (delete the share)") }
        try await sweep(s, accountKey)
        try await removeDirectory(s, path, recursive: recursive, accountKey)
    }

    private func removeDirectory(_ s: Share, _ path: FilePath, recursive: Bool, _ key: AccountKey) async throws {
        while true {
            if recursive {
                var continuation: String?
                repeat {
                    let page = try await list(s, path, continuation: continuation, limit: 1000, key)
                    for entry in page.entries {
                        do {
                            if entry.kind == .directory {
                                try await removeDirectory(s, path.appending(entry.name), recursive: true, key)
                            } else {
                                try await removeFile(s, path.appending(entry.name), key)
                            }
                        } catch let error as StorageError where error.code == .notFound {
                            continue  // removed by another call meanwhile
                        }
                    }
                    continuation = page.continuation
                } while continuation != nil
            }
            do {
                return try await removeEmptyDirectory(s, path, key)
            } catch let error as StorageError where error.code == .notEmpty && recursive {
                continue  // something was created meanwhile: remove it too
            }
        }
    }

    /// rmdir: the entry, the directory's inode (conditional on the version
    /// read, which every create in it rewrites: a racing create and this
    /// cannot both succeed), its parent's inode and the usage, in one batch.
    private func removeEmptyDirectory(_ s: Share, _ path: FilePath, _ key: AccountKey) async throws {
        try await retrying { () async throws -> Bool? in
            let (link, node) = try await resolve(path, s, key)
            guard node.record.kind == .directory else { throw StorageError(.notDirectory, "'\(path)' in share '\(s.name)' is not a directory") }
            guard try await isEmpty(node.id, s) else { throw StorageError(.notEmpty, "directory '\(path)' in share '\(s.name)' is not empty") }
            let found = try await read(s, [Self.inodeKey(link.parent), Self.usageKey])
            guard let parentSealed = found[Self.inodeKey(link.parent)] else { throw TreeChanged() }
            var parent = try self.node(link.parent, parentSealed, s, key)
            var usage = try usage(found[Self.usageKey], s, key)
            usage.directories -= min(usage.directories, 1)
            var change = TreeChange()
            change.remove(link.key, expecting: link.sealed)
            change.remove(node.key, expecting: node.sealed)
            try touch(&parent, &change, s, key)
            change.set(Self.usageKey, try seal(usage.encoded, "file-usage", s, Self.usageKey, key), expecting: found[Self.usageKey])
            return try await commit(change, s) ? true : nil
        }
    }

    /// True when directory `id` has no entry (one key read).
    func isEmpty(_ id: [UInt8], _ s: Share) async throws -> Bool {
        let prefix = Self.entryPrefix(id)
        let page: (keys: [String], more: Bool)
        do {
            page = try await backend.recordKeys(s.tree, after: prefix, limit: 1)
        } catch let error as StorageError where error.code == .notFound {
            throw Self.shareNotFound(s.account, s.name)
        }
        return !(page.keys.first?.hasPrefix(prefix) ?? false)
    }

    /// Up to `limit` (1-1000) entries of the directory at `path`, in stored
    /// order (by keyed hash of the name), after `continuation` (from the last page).
    public func listDirectory(account: String, share: String, path: String, continuation: String? = nil, limit: Int = 1000,
                              accountKey: AccountKey) async throws -> DirectoryListing {
        guard FileLimits.listPage.contains(limit) else { throw StorageError(.invalidArgument, "list 1-1000 entries at a time, not \(limit)") }
        let s = try await self.share(account, share, accountKey), path = try FilePath(path)
        return try await list(s, path, continuation: continuation, limit: limit, accountKey)
    }

    func list(_ s: Share, _ path: FilePath, continuation: String?, limit: Int, _ key: AccountKey) async throws -> DirectoryListing {
        let id = try await directoryID(path, s, key)
        let prefix = Self.entryPrefix(id)
        if let continuation, !(continuation.hasPrefix(prefix) && continuation.utf8.count == prefix.utf8.count + 40) {
            throw StorageError(.invalidArgument, "the continuation is not one of a listing of '\(path)'")
        }
        let page: RecordPage
        do {
            page = try await backend.records(s.tree, after: continuation ?? prefix, limit: limit)
        } catch let error as StorageError where error.code == .notFound {
            throw Self.shareNotFound(s.account, s.name)
        }
        let records = page.records.prefix { $0.key.hasPrefix(prefix) }
        let links = try records.map { record in
            let entry = try EntryRecord(decoding: try open(record.value, "file-entry", s, record.key, key))
            guard try entryKey(s, id, entry.name, key) == record.key else { throw StorageError.integrity("entry \(record.key) names another file") }
            return Link(parent: id, key: record.key, record: entry, sealed: record.value)
        }
        let inodes = links.isEmpty ? [:] : try await read(s, links.map { Self.inodeKey($0.record.child) })
        var entries: [FileInfo] = []
        for link in links {
            // No inode: removed since the entry was read.
            guard let sealed = inodes[Self.inodeKey(link.record.child)] else { continue }
            let node = try node(link.record.child, sealed, s, key)
            guard node.record.kind == link.record.kind else { throw StorageError.integrity("entry \(link.key) names an inode of another kind") }
            guard node.record.parent == id else { continue }  // moved since the entry was read
            entries.append(node.record.info(link.record.name))
        }
        // More may follow only when the whole page was this directory's.
        let more = page.more && records.count == page.records.count
        return DirectoryListing(entries: entries, continuation: more ? records.last?.key : nil)
    }

    // MARK: Shared by files and directories

    /// One tree batch that makes `path`: the entry and the inode (both absent
    /// before), the parent directory's inode rewritten (conditional: creates
    /// in one directory are serialised, and a racing rmdir of the parent
    /// fails or makes this fail), the usage one file or directory more.
    func create(_ account: String, _ share: String, _ path: String, _ kind: FileKind, size: UInt64, mode: UInt32,
                metadata: [String: String], _ key: AccountKey, inline data: [UInt8]? = nil, mtime: Int64? = nil) async throws -> FileInfo {
        try FileLimits.validate(size: size)
        try FileLimits.validate(mode: mode)
        try FileLimits.validate(metadata: metadata, of: kind == .file ? "file" : "directory")
        let s = try await self.share(account, share, key), path = try FilePath(path)
        guard !path.isRoot else { throw StorageError(.invalidArgument, "an empty path or '/' names the root directory of share '\(s.name)', which always exists") }
        return try await retrying { () async throws -> FileInfo? in
            let parentID = try await directoryID(path.parent, s, key), entryKey = try entryKey(s, parentID, path.name, key)
            let found = try await read(s, [Self.inodeKey(parentID), entryKey, Self.usageKey])
            guard found[entryKey] == nil else { throw StorageError(.alreadyExists, "'\(path)' already exists in share '\(s.name)'") }
            guard let parentSealed = found[Self.inodeKey(parentID)] else { throw TreeChanged() }
            var parent = try node(parentID, parentSealed, s, key)
            guard parent.record.kind == .directory else { throw StorageError.integrity("the inode of directory '\(path.parent)' is a file") }
            var usage = try usage(found[Self.usageKey], s, key)
            if kind == .file {
                try quota(s, usage, growth: size)
                usage.files += 1
                usage.bytes += size
            } else {
                usage.directories += 1
            }
            let id = try SecureRandom.bytes(InodeRecord.idSize), now = clock()
            let dataID = kind == .file ? try SecureRandom.bytes(InodeRecord.idSize) : InodeRecord.rootID
            let inline = kind == .file && size <= FileLimits.inlineBytes ? data ?? [UInt8](repeating: 0, count: Int(size)) : nil
            let inode = InodeRecord(kind: kind, mode: mode, size: size, ctime: now, mtime: mtime ?? now, parent: parentID, dataID: dataID, metadata: metadata,
                                    inline: inline)
            var change = TreeChange()
            change.set(entryKey, try seal(EntryRecord(name: path.name, child: id, kind: kind).encoded, "file-entry", s, entryKey, key), expecting: nil)
            change.set(Self.inodeKey(id), try sealNode(id, inode, s, key), expecting: nil)
            try touch(&parent, &change, s, key)
            change.set(Self.usageKey, try seal(usage.encoded, "file-usage", s, Self.usageKey, key), expecting: found[Self.usageKey])
            return try await commit(change, s) ? inode.info(path.name) : nil
        }
    }

    /// `.resourceExhausted` when `growth` more bytes would exceed the share's quota.
    func quota(_ s: Share, _ usage: UsageRecord, growth: UInt64) throws {
        guard growth > 0 else { return }
        guard usage.bytes <= s.record.quota, growth <= s.record.quota - usage.bytes else {
            throw StorageError(.resourceExhausted, "share quota of \(s.record.quota) bytes exceeded (\(usage.bytes) used, \(growth) more asked)")
        }
    }

    /// Adds to `change` the directory `node` rewritten with mtime and ctime now (a name in it came or went).
    func touch(_ node: inout Node, _ change: inout TreeChange, _ s: Share, _ key: AccountKey) throws {
        let now = clock()
        node.record.mtime = now
        node.record.changed(at: now)
        change.set(node.key, try sealNode(node.id, node.record, s, key), expecting: node.sealed)
    }

    /// The file or directory at `path` (the root too).
    public func properties(account: String, share: String, path: String, accountKey: AccountKey) async throws -> FileInfo {
        let s = try await self.share(account, share, accountKey), path = try FilePath(path)
        return try await retrying { try await self.at(path, s, accountKey).record.info(path.name) }
    }

    /// Replaces the metadata of the file or directory at `path`.
    @discardableResult
    public func setMetadata(account: String, share: String, path: String, metadata: [String: String], accountKey: AccountKey) async throws -> FileInfo {
        try FileLimits.validate(metadata: metadata, of: "file")
        return try await change(account, share, path, accountKey) { $0.metadata = metadata }
    }

    /// Sets the mode bits (0-0o7777) of the file or directory at `path`.
    @discardableResult
    public func setMode(account: String, share: String, path: String, mode: UInt32, accountKey: AccountKey) async throws -> FileInfo {
        try FileLimits.validate(mode: mode)
        return try await change(account, share, path, accountKey) { $0.mode = mode }
    }

    /// Sets the modification time (ms since the Unix epoch) of the file or directory at `path`.
    @discardableResult
    public func setTimes(account: String, share: String, path: String, mtime: Int64, accountKey: AccountKey) async throws -> FileInfo {
        try await change(account, share, path, accountKey) { $0.mtime = mtime }
    }

    /// The inode at `path`: the root's, or the one its entry names.
    func at(_ path: FilePath, _ s: Share, _ key: AccountKey) async throws -> Node {
        if path.isRoot {
            guard let root = try await node(InodeRecord.rootID, s, key) else { throw StorageError.integrity("share '\(s.name)' has no root directory") }
            return root
        }
        return try await resolve(path, s, key).node
    }

    /// Applies `edit` to the inode at `path` (ctime set now), conditional on the version read.
    func change(_ account: String, _ share: String, _ path: String, _ key: AccountKey,
                _ edit: @escaping (inout InodeRecord) -> Void) async throws -> FileInfo {
        let s = try await self.share(account, share, key), path = try FilePath(path)
        return try await retrying { () async throws -> FileInfo? in
            var node = try await at(path, s, key)
            edit(&node.record)
            node.record.changed(at: clock())
            var change = TreeChange()
            change.set(node.key, try sealNode(node.id, node.record, s, key), expecting: node.sealed)
            return try await commit(change, s) ? node.record.info(path.name) : nil
        }
    }
}
