import AtRestCrypto

/// What `reencrypt` did with one page of a container.
public struct ReencryptPage: Sendable, Equatable {
    /// Objects looked at, objects rewritten under the current account key
    /// version, and their plaintext bytes.
    public var objects: Int = 0
    public var rewritten: Int = 0
    public var bytes: UInt64 = 0
    /// Objects replaced or deleted by another call while they were rewritten
    /// (the other call won; what it wrote is under the current version).
    public var raced: Int = 0
    /// Objects left under an older version because this build cannot rewrite
    /// them (header flags it does not know how to reproduce): retiring must wait.
    public var skipped: Int = 0
    /// Pass back for the next page; nil when the container is done.
    public var nextPageToken: String?
    public init() {}
}

/// Re-encryption under the current account key version (`atrest account
/// reencrypt`, issue 20): every object whose header records another version
/// is read and written again under `accountKey`'s current version, published
/// only if it is still the version that was read (`WriteCondition.mustMatch`),
/// so a put racing with it wins and is never overwritten. An interrupted or
/// repeated run is harmless: an object is either the old version (readable,
/// rewritten next time) or the new one (skipped next time).
extension ObjectStore {
    /// Rewrites the objects of one page of `container` (names in order, from `pageToken`).
    /// `migrating`: the versions to move to the current one (the older versions of
    /// the account's own chain); an object under any other version (an encryption
    /// scope's) is left where it is. Nil: every version but the current one.
    public func reencrypt(account: String, container: String, pageToken: String? = nil, maxObjects: Int = 100,
                          migrating: Set<UInt32>? = nil, accountKey: AccountKey) async throws -> ReencryptPage {
        // The first page moves the container's marker too (ObjectStore+ReencryptMarker).
        if pageToken == nil { _ = try await reencryptMarker(account: account, container: container, migrating: migrating, accountKey: accountKey) }
        let listing = try await list(account: account, container: container, pageToken: pageToken, maxResults: maxObjects,
                                     accountKey: accountKey)
        var page = ReencryptPage()
        page.nextPageToken = listing.nextPageToken
        for object in listing.objects {
            page.objects += 1
            switch try await reencrypt(account: account, container: container, name: object.name, migrating: migrating,
                                       accountKey: accountKey) {
            case .current: break
            case .rewritten(let bytes): page.rewritten += 1; page.bytes += bytes
            case .raced: page.raced += 1
            case .skipped: page.skipped += 1
            }
        }
        return page
    }

    enum ReencryptOutcome: Equatable { case current, rewritten(UInt64), raced, skipped }

    func reencrypt(account: String, container: String, name: String, migrating: Set<UInt32>? = nil,
                   accountKey: AccountKey) async throws -> ReencryptOutcome {
        let id = try await existingContainer(account, container, accountKey)
        let hash = try objectHash(container, name, accountKey)
        let target = try objectName(id, hash)
        let identity = ObjectIdentity(account: account, container: container)
        let object: StoredObject, reader: ObjectReader
        do {
            (object, reader) = try await open(target, name: name, identity: identity, accountKey: accountKey)
        } catch let error as StorageError where error.code == .notFound {
            return .raced
        }
        let moves = Self.isMigrating(reader, migrating, accountKey)
        // A block list under the current version may still name blocks staged under an
        // older one (staged before a rotation, committed after it by an earlier build):
        // its blocks are looked at too.
        guard moves || (reader.isManifest && reader.header.keyReference.accountKeyVersion == accountKey.reference.accountKeyVersion) else {
            return .current
        }
        guard Self.canReseal(reader, accountKey: accountKey) else { return moves ? .skipped : .current }
        let sealed: AlignedBuffer
        var newBlocks: (manifest: BlockManifest, old: BlockManifest)?
        if reader.isManifest {
            let old = try BlockManifest.decode(try await object.readAll(reader))
            let (manifest, movedBlocks, leftBlocks) = try await restage(old, id: id, objectHash: hash, name: name, account: account, container: container,
                                                                        migrating: migrating, accountKey: accountKey)
            if leftBlocks > 0 { await removeBlocks(of: manifest, id: id, objectHash: hash, keeping: old.blockFileNames(objectHash: hash)); return .skipped }
            guard moves || movedBlocks > 0 else { return .current }
            newBlocks = (manifest, old)
            sealed = try manifest.encode().withUnsafeBytes { encoded in
                try ObjectSealing.seal(whole: encoded, metadata: reader.metadata, identity: identity, flags: .manifest,
                                       accountKey: accountKey, expectedHash: nil)
            }.buffer
        } else {
            let data = try await object.readAll(reader)
            sealed = try data.withUnsafeBytes { plain in
                try ObjectSealing.seal(whole: plain, metadata: reader.metadata, identity: identity, accountKey: accountKey, expectedHash: nil)
            }.buffer
        }
        do {
            _ = try await writing(into: id, account, container) {
                try await write(sealed, to: target, condition: .mustMatch(object.version), blindReplaceable: !reader.isManifest)
            }
        } catch let error as StorageError where error.code == .conditionFailed || error.code == .notFound {
            // Another call replaced or deleted it: that call wins; the new stagings are garbage.
            if let newBlocks { await removeBlocks(of: newBlocks.manifest, id: id, objectHash: hash, keeping: newBlocks.old.blockFileNames(objectHash: hash)) }
            return .raced
        }
        if let newBlocks {
            await removeBlocks(of: newBlocks.old, id: id, objectHash: hash, keeping: newBlocks.manifest.blockFileNames(objectHash: hash))
        }
        return .rewritten(reader.metadata.length)
    }

    /// The blocks of a committed block list that are under one of
    /// `migrating` (nil: any version but the current one) read and staged
    /// again under the current version (new staging names: the old files
    /// stay until the new list is published); the new list pins the new
    /// files and keeps the others' entries. Returns it, the blocks moved, and
    /// the blocks that had to move but cannot be sealed here (a
    /// customer-provided key's).
    private func restage(_ old: BlockManifest, id: BackendContainer, objectHash: String, name: String, account: String, container: String,
                         migrating: Set<UInt32>?, accountKey: AccountKey) async throws -> (BlockManifest, moved: Int, left: Int) {
        let blockIdentity = ObjectIdentity(account: account, container: container, kind: .block)
        var manifest = BlockManifest(entries: [])
        var moved = 0, left = 0
        for (index, entry) in old.entries.enumerated() {
            let file = try BackendName(id, old.blockFileName(objectHash: objectHash, index: index))
            let block = try await StoredObject.open(backend, file)
            let reader = try await block.reader(accountKey: accountKey, context: blockIdentity.context)
            guard ConstantTime.equals(try SHA256.hash(reader.cipher.fixedHeader), entry.headerHash), reader.metadata.name == name else {
                throw StorageError.integrity("block \(index) of '\(name)' is not the block that was committed")
            }
            let migrates = Self.isMigrating(reader, migrating, accountKey)
            if migrates, Self.canReseal(reader, accountKey: accountKey) {
                manifest.entries.append(try await restageBlock(block, reader, id: id, account: account, container: container, name: name,
                                                               blockID: entry.blockID, accountKey: accountKey))
                moved += 1
            } else {
                if migrates { left += 1 }
                // Kept in place: the entry names the file as it is (an earlier release's block list names it by index).
                var kept = entry
                kept.file = file.object
                manifest.entries.append(kept)
            }
        }
        return (manifest, moved, left)
    }
}
