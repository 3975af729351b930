import AtRestCrypto

/// Offline recovery (`atrest-recover`): every share of an account, every
/// directory and file of its tree (names opened from the sealed entry
/// records, as `listDirectory` does) and every chunk of a file's data,
/// each record opened and checked on its own, so one damaged record is
/// reported and the rest still reads. Reads only.
extension FileStore {
    /// A record that does not open (or names another key): where and why.
    public typealias DamagedRecord = QueueStore.DamagedRecord
    /// One stored chunk of a file: where it starts in the file and its bytes
    /// (64 KiB; the last one of a file may reach past the file's size).
    public typealias RecoveredChunk = DiskStore.RecoveredChunk

    /// A share as its record names it; `info` has the usage record's counts
    /// (zeros when that record is damaged, which is reported).
    public struct RecoveredShare: Sendable {
        public var info: ShareInfo
        let share: Share
    }

    /// A directory or file found in a share's tree: its path from the root
    /// (components, each a valid name) and its properties.
    public struct RecoveredNode: Sendable {
        public var path: [String]
        public var info: FileInfo
        let node: Node
    }

    /// The account's shares by name, and the records that do not open (a
    /// share record, or the usage record `<share key>/u`). An account that
    /// never had a share has none.
    public func recoverShares(account: String, accountKey: AccountKey) async throws -> (shares: [RecoveredShare], damaged: [DamagedRecord]) {
        let directory = try shareDirectory(account, accountKey), container = try accountKey.accountContainer(account)
        var shares: [RecoveredShare] = [], damaged: [DamagedRecord] = []
        for entry in try await backend.allRecords(directory) ?? [] {
            let s: Share
            do {
                let record = try ShareRecord(decoding: try SealedRecord.open(entry.value, context: Self.shareContext(account), map: directory,
                                                                             key: entry.key, accountKey: accountKey))
                guard try shareKey(account, record.name, accountKey) == entry.key else {
                    throw StorageError.integrity("share record \(entry.key) names another share")
                }
                s = Share(account: account, name: record.name, record: record, sealed: entry.value, container: container,
                          tree: try Self.treeMap(container, record.id))
            } catch {
                damaged.append(DamagedRecord(key: entry.key, reason: QueueStore.reason(error)))
                continue
            }
            var used = UsageRecord(bytes: 0, files: 0, directories: 0)
            do {
                used = try usage(try await read(s, [Self.usageKey])[Self.usageKey], s, accountKey)
            } catch {
                damaged.append(DamagedRecord(key: "\(entry.key)/\(Self.usageKey)", reason: QueueStore.reason(error)))
            }
            shares.append(RecoveredShare(info: info(s, used), share: s))
        }
        return (shares.sorted { $0.info.name < $1.info.name }, damaged)
    }

    /// Every directory and file of the share's tree below the root, depth
    /// first, each directory before what it holds and its entries by name;
    /// `each` gets every node or damaged record in turn (an entry key, or
    /// an inode key `n-…`). A damaged entry hides what is below it; an
    /// entry whose inode is missing, of another kind, in another directory
    /// or already seen (a cycle) is damaged. A missing tree throws.
    public func recoverTree(of share: RecoveredShare, accountKey: AccountKey,
                            _ each: (Result<RecoveredNode, DamagedRecord>) async throws -> Void) async throws {
        let s = share.share
        guard try await node(InodeRecord.rootID, s, accountKey) != nil else { throw StorageError.integrity("the share's root directory is missing") }
        var seen: Set<[UInt8]> = [InodeRecord.rootID]
        var pending: [(id: [UInt8], path: [String])] = [(InodeRecord.rootID, [])]
        while let directory = pending.popLast() {
            var found: [RecoveredNode] = []
            let prefix = Self.entryPrefix(directory.id)
            var after = prefix
            while true {
                let page = try await backend.records(s.tree, after: after, limit: 1000)
                let records = page.records.prefix { $0.key.hasPrefix(prefix) }
                var links: [(key: String, record: EntryRecord)] = []
                for record in records {
                    do {
                        let entry = try EntryRecord(decoding: try open(record.value, "file-entry", s, record.key, accountKey))
                        _ = try FilePath.validate(component: entry.name)
                        guard try entryKey(s, directory.id, entry.name, accountKey) == record.key else {
                            throw StorageError.integrity("entry \(record.key) names another file")
                        }
                        links.append((record.key, entry))
                    } catch {
                        try await each(.failure(DamagedRecord(key: record.key, reason: QueueStore.reason(error))))
                    }
                }
                let inodes = links.isEmpty ? [:] : try await read(s, links.map { Self.inodeKey($0.record.child) })
                for link in links {
                    do {
                        guard let sealed = inodes[Self.inodeKey(link.record.child)] else {
                            throw StorageError.integrity("entry '\(link.record.name)' names an inode that is missing")
                        }
                        let node = try node(link.record.child, sealed, s, accountKey)
                        guard node.record.kind == link.record.kind, node.record.parent == directory.id else {
                            throw StorageError.integrity("entry '\(link.record.name)' names an inode of another kind or directory")
                        }
                        guard seen.insert(node.id).inserted else { throw StorageError.integrity("entry '\(link.record.name)' names an inode seen before") }
                        found.append(RecoveredNode(path: directory.path + [link.record.name], info: node.record.info(link.record.name), node: node))
                    } catch {
                        try await each(.failure(DamagedRecord(key: link.key, reason: QueueStore.reason(error))))
                    }
                }
                guard page.more, records.count == page.records.count, let last = records.last else { break }
                after = last.key
            }
            found.sort { Array($0.info.name.utf8).lexicographicallyPrecedes(Array($1.info.name.utf8)) }
            for node in found { try await each(.success(node)) }
            // Depth first, by name: the first subdirectory is taken next.
            for node in found.reversed() where node.info.kind == .directory { pending.append((node.node.id, node.path)) }
        }
        await backend.doneReading(s.tree)
    }

    /// Every stored chunk of a file's data, by offset (an inline file is one
    /// chunk of its size); `each` gets every chunk or damaged record
    /// (`<region, 4 hex>/<chunk key>`) in turn. A missing chunk holds
    /// zeros; chunks wholly past the file's size are not read (no read
    /// returns them: a growing write that crashed before its inode batch).
    public func recoverData(of file: RecoveredNode, in share: RecoveredShare, accountKey: AccountKey,
                            _ each: (Result<RecoveredChunk, DamagedRecord>) async throws -> Void) async throws {
        guard file.info.kind == .file else { return }
        if let inline = file.node.record.inline {
            if !inline.isEmpty { try await each(.success(RecoveredChunk(offset: 0, bytes: inline))) }
            return
        }
        try await data(share.share, file.node, accountKey).recover(size: file.info.size, "file", skippingBeyondEnd: true) { recovered in
            switch recovered {
            case .chunk(let offset, let bytes): try await each(.success(RecoveredChunk(offset: offset, bytes: bytes)))
            case .damaged(let key, let error): try await each(.failure(DamagedRecord(key: key, reason: QueueStore.reason(error))))
            }
        }
    }
}
