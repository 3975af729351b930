import AtRestCrypto

/// Moving a file or directory within a share.
extension FileStore {
    /// Moves the file or directory at `from` to `to` (within the share),
    /// atomically: one tree batch removes the old entry, writes the new
    /// one, rewrites the moved inode's parent id and ctime and both parent
    /// directories' times; a directory moves with its whole subtree (inode
    /// ids don't change). With `replace` (POSIX rename) an existing `to`
    /// is replaced when it is a file and `from` is one too, or an empty
    /// directory and `from` is a directory (its data removed as by delete);
    /// without it (RENAME_NOREPLACE) an existing `to` is `.alreadyExists`.
    ///
    /// A directory is never moved into its own subtree: the new parent's
    /// ancestors are walked to the root (parent ids in the inodes) and
    /// each is a condition of the batch, so of two racing renames that
    /// would together make a cycle (A under B, B under A), one fails its
    /// condition, reads again and is refused.
    public func rename(account: String, share: String, from: String, to: String, replace: Bool = true, accountKey: AccountKey) async throws {
        let s = try await self.share(account, share, accountKey), from = try FilePath(from), to = try FilePath(to)
        guard !from.isRoot, !to.isRoot else { throw StorageError(.invalidArgument, "the root directory of a share cannot be renamed or replaced") }
        if from == to {
            _ = try await retrying { try await self.resolve(from, s, accountKey) }
            return
        }
        let buried = try await retrying { () async throws -> (String, [UInt8], Node)?? in
            try await self.move(from, to, replace: replace, s, accountKey)
        }
        if let (tombstoneKey, tombstone, replaced) = buried {
            try await finish(tombstoneKey, tombstone, dataID: replaced.record.dataID, size: replaced.record.size, s, accountKey)
        }
    }

    /// One try of a rename: nil when a condition failed, else the tombstone
    /// of a replaced file (or nil inside when none was replaced).
    private func move(_ from: FilePath, _ to: FilePath, replace: Bool, _ s: Share,
                      _ key: AccountKey) async throws -> (String, [UInt8], Node)?? {
        let (source, moved) = try await resolve(from, s, key)
        let targetParent = try await directoryID(to.parent, s, key), targetKey = try entryKey(s, targetParent, to.name, key)
        let found = try await read(s, [Self.inodeKey(source.parent), Self.inodeKey(targetParent), targetKey, Self.usageKey])
        guard let sourceParentSealed = found[Self.inodeKey(source.parent)],
              let targetParentSealed = found[Self.inodeKey(targetParent)] else { throw TreeChanged() }
        var sourceParent = try node(source.parent, sourceParentSealed, s, key)
        var destination = try node(targetParent, targetParentSealed, s, key)
        var change = TreeChange()
        if moved.record.kind == .directory { try await refuseCycle(moving: moved, into: destination, &change, from, to, s, key) }
        var buried: (String, [UInt8], Node)?
        if let targetSealed = found[targetKey] {
            let target = try link(targetParent, to.name, targetKey, targetSealed, s, key)
            guard replace else { throw StorageError(.alreadyExists, "'\(to)' already exists in share '\(s.name)'") }
            guard let replaced = try await node(target.record.child, s, key), replaced.record.kind == target.record.kind else { throw TreeChanged() }
            var usage = try usage(found[Self.usageKey], s, key)
            switch (moved.record.kind, replaced.record.kind) {
            case (.directory, .directory):
                guard try await isEmpty(replaced.id, s) else { throw StorageError(.notEmpty, "directory '\(to)' in share '\(s.name)' is not empty") }
                usage.directories -= min(usage.directories, 1)
            case (.file, .file):
                usage.bytes -= min(usage.bytes, replaced.record.size)
                usage.files -= min(usage.files, 1)
                let (tombstoneKey, tombstone) = try bury(replaced, &change, s, key)
                buried = (tombstoneKey, tombstone, replaced)
            case (.file, .directory):
                throw StorageError(.isDirectory, "cannot replace directory '\(to)' with file '\(from)'")
            case (.directory, .file):
                throw StorageError(.notDirectory, "cannot replace file '\(to)' with directory '\(from)'")
            }
            change.remove(replaced.key, expecting: replaced.sealed)
            change.set(Self.usageKey, try seal(usage.encoded, "file-usage", s, Self.usageKey, key), expecting: found[Self.usageKey])
        }
        let entry = EntryRecord(name: to.name, child: moved.id, kind: moved.record.kind)
        change.remove(source.key, expecting: source.sealed)
        change.set(targetKey, try seal(entry.encoded, "file-entry", s, targetKey, key), expecting: found[targetKey])
        var movedRecord = moved.record
        movedRecord.parent = targetParent
        movedRecord.changed(at: clock())
        change.set(moved.key, try sealNode(moved.id, movedRecord, s, key), expecting: moved.sealed)
        try touch(&sourceParent, &change, s, key)
        if destination.id != sourceParent.id { try touch(&destination, &change, s, key) }
        return try await commit(change, s) ? .some(buried) : nil
    }

    /// A directory `moved` into directory `destination`: the destination
    /// and its ancestors up to the root (parent ids in the inodes), none of
    /// which may be `moved`, each a condition of `change` (so a racing
    /// rename that moves one of them cannot make a cycle with this one).
    private func refuseCycle(moving moved: Node, into destination: Node, _ change: inout TreeChange, _ from: FilePath, _ to: FilePath,
                             _ s: Share, _ key: AccountKey) async throws {
        var ancestor = destination
        while true {
            guard ancestor.id != moved.id else {
                throw StorageError(.invalidArgument, "renaming '\(from)' to '\(to)' would move a directory into itself")
            }
            change.expect(ancestor.key, ancestor.sealed)
            if ancestor.isRoot { return }
            guard let up = try await node(ancestor.record.parent, s, key) else { throw TreeChanged() }
            ancestor = up
        }
    }

    /// Swaps the files or directories at `first` and `second` (both must
    /// exist; RENAME_EXCHANGE) in one tree batch: each entry names the
    /// other's inode, each inode gets the other's parent, both parents'
    /// times are stamped. A directory is never moved into its own subtree
    /// (the ancestors are walked and conditioned as for `rename`).
    public func exchange(account: String, share: String, _ first: String, _ second: String, accountKey: AccountKey) async throws {
        let s = try await self.share(account, share, accountKey), first = try FilePath(first), second = try FilePath(second)
        guard !first.isRoot, !second.isRoot else { throw StorageError(.invalidArgument, "the root directory of a share cannot be exchanged") }
        try await retrying { () async throws -> Bool? in
            let (one, oneNode) = try await resolve(first, s, accountKey), (two, twoNode) = try await resolve(second, s, accountKey)
            guard first != second else { return true }
            let found = try await read(s, [Self.inodeKey(one.parent), Self.inodeKey(two.parent)])
            guard let oneSealed = found[Self.inodeKey(one.parent)], let twoSealed = found[Self.inodeKey(two.parent)] else { throw TreeChanged() }
            var oneParent = try node(one.parent, oneSealed, s, accountKey), twoParent = try node(two.parent, twoSealed, s, accountKey)
            var change = TreeChange()
            if one.parent != two.parent {
                if oneNode.record.kind == .directory { try await refuseCycle(moving: oneNode, into: twoParent, &change, first, second, s, accountKey) }
                if twoNode.record.kind == .directory { try await refuseCycle(moving: twoNode, into: oneParent, &change, second, first, s, accountKey) }
            }
            let now = clock()
            for (link, path, node, parent) in [(one, first, twoNode, one.parent), (two, second, oneNode, two.parent)] {
                let entry = EntryRecord(name: path.name, child: node.id, kind: node.record.kind)
                change.set(link.key, try seal(entry.encoded, "file-entry", s, link.key, accountKey), expecting: link.sealed)
                var record = node.record
                record.parent = parent
                record.changed(at: now)
                change.set(node.key, try sealNode(node.id, record, s, accountKey), expecting: node.sealed)
            }
            try touch(&oneParent, &change, s, accountKey)
            if twoParent.id != oneParent.id { try touch(&twoParent, &change, s, accountKey) }
            return try await commit(change, s) ? true : nil
        }
    }
}
