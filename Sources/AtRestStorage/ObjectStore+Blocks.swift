import AtRestCrypto
import Glibc

/// Staged blocks and block-list commit. Each block is sealed independently
/// (its own salt, header and segments) by whichever process stores it, as
/// `s-<hash(container, name, block id)>`; restaging an id replaces it
/// atomically. Commit never re-encrypts: it gives the staged blocks the
/// names `b-<object hash>-<commit id>-<n>` (`StorageBackend.link`: a hard
/// link on a directory, a copy where the backend cannot share bytes) and
/// publishes a small sealed manifest as the object, which pins each block by
/// its header hash.
extension ObjectStore {
    static let blockIDKey = "atrest.block-id"
    /// Staged blocks a commit opens at once.
    static let openInFlight = 16

    func stagedName(_ id: BackendContainer, _ container: String, _ name: String, _ blockID: [UInt8], _ key: AccountKey) throws -> BackendName {
        try BackendName(id, "s-" + (try key.hashName(["block", container, name, Hex.encode(blockID)])))
    }

    /// Stages one block of `name` from `length` bytes that `feed` passes in pieces.
    @discardableResult
    public func stageBlock(account: String, container: String, name: String, blockID: [UInt8], contentHash: [UInt8]? = nil,
                           accountKey: AccountKey, length: Int,
                           feed: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) async throws -> ObjectMetadata {
        try Self.validate(name: name)
        guard !blockID.isEmpty, blockID.count <= 64 else { throw StorageError(.invalidArgument, "block id must be 1 to 64 bytes") }
        let id = try containerID(account, container, accountKey)
        async let exists: Void = requireContainer(id, account, container)  // while the block is sealed
        let metadata = ObjectMetadata(name: name, userMetadata: [Self.blockIDKey: Hex.encode(blockID)], creationTime: Self.nowMillis())
        let sealed = try ObjectSealing.seal(metadata: metadata, identity: ObjectIdentity(account: account, container: container, kind: .block),
                                           accountKey: accountKey, expectedHash: contentHash, length: length, feed: feed)
        try await exists
        try await write(sealed.buffer, to: try stagedName(id, container, name, blockID, accountKey), condition: .none)
        return sealed.metadata
    }

    @discardableResult
    public func stageBlock(account: String, container: String, name: String, blockID: [UInt8], data: [UInt8],
                           contentHash: [UInt8]? = nil, accountKey: AccountKey) async throws -> ObjectMetadata {
        try await stageBlock(account: account, container: container, name: name, blockID: blockID, contentHash: contentHash,
                             accountKey: accountKey, length: data.count) { append in try data.withUnsafeBytes { try append($0) } }
    }

    /// Publishes `blockIDs` (in order, repeats allowed) as the object `name`.
    @discardableResult
    public func commitBlocks(account: String, container: String, name: String, blockIDs: [[UInt8]], userMetadata: [String: String] = [:],
                             contentType: String = "application/octet-stream", accountKey: AccountKey) async throws -> ObjectMetadata {
        try Self.validate(name: name)
        let id = try await existingContainer(account, container, accountKey)
        let hash = try objectHash(container, name, accountKey)
        let blockIdentity = ObjectIdentity(account: account, container: container, kind: .block)
        var manifest = BlockManifest(commitID: Hex.encode(try SecureRandom.bytes(8)), entries: [])
        var links: [BackendLink] = []
        let staged = try blockIDs.map { try stagedName(id, container, name, $0, accountKey) }
        let opened = try await openAll(staged)
        for (index, blockID) in blockIDs.enumerated() {
            guard let block = opened[index] else {
                throw StorageError(.invalidArgument, "block \(Hex.encode(blockID)) of '\(name)' was not staged (or was already committed)")
            }
            let reader = try await block.reader(accountKey: accountKey, context: blockIdentity.context)
            guard reader.metadata.name == name, reader.metadata.userMetadata[Self.blockIDKey] == Hex.encode(blockID) else {
                throw StorageError.integrity("staged block for \(Hex.encode(blockID)) belongs to another block (spliced)")
            }
            manifest.entries.append(.init(blockID: blockID, length: reader.length, headerHash: try SHA256.hash(reader.cipher.fixedHeader),
                                          contentHash: reader.metadata.contentHash))
            links.append(try BackendLink(source: staged[index], target: try BackendName(id, manifest.blockFileName(objectHash: hash, index: index))))
        }
        do {
            try await backend.link(links)
        } catch let error as StorageError where error.code == .notFound {
            throw StorageError(.invalidArgument, "a block of '\(name)' was committed or restaged by another call meanwhile; stage it again")
        }
        let metadata = ObjectMetadata(name: name, userMetadata: userMetadata, contentType: contentType, length: manifest.length,
                                      creationTime: Self.nowMillis(), contentHash: try manifest.compositeHash())
        let sealed = try manifest.encode().withUnsafeBytes { encoded in
            try ObjectSealing.seal(whole: encoded, metadata: metadata, identity: ObjectIdentity(account: account, container: container),
                                   flags: .manifest, accountKey: accountKey, expectedHash: nil)
        }
        try await publish(sealed.buffer, id: id, hash: hash, account: account, container: container, accountKey: accountKey)
        await withTaskGroup(of: Void.self) { group in
            for name in Set(staged) { group.addTask { try? await self.backend.delete(name, condition: .none) } }
        }
        return sealed.metadata
    }

    /// Opens `names` (a block list's staged blocks), `openInFlight` at a
    /// time (one round trip each on a networked backend): nil for one that
    /// does not exist.
    func openAll(_ names: [BackendName]) async throws -> [StoredObject?] {
        let backend = self.backend
        let parts = try await names.concurrentMap(limit: Self.openInFlight) { name -> (object: any BackendObject, head: [UInt8])? in
            do {
                return try await StoredObject.openParts(backend, name)
            } catch let error as StorageError where error.code == .notFound {
                return nil
            }
        }
        return zip(names, parts).map { name, parts in parts.map { StoredObject(name: name, object: $0.object, head: $0.head) } }
    }

    /// Reads `range` of a committed block list, opening only the blocks it
    /// touches. Every block is opened (which pins its version: see
    /// `BackendObject`) before the first byte goes to `sink`, so a commit
    /// that replaces the block list meanwhile cannot pull one out from under
    /// the read; if one is already gone, nothing was emitted and the caller
    /// reads the new block list instead (`VersionGone`).
    func readBlocks(_ manifest: BlockManifest, range: Range<UInt64>, id: BackendContainer, objectHash: String, name: String,
                    identity: ObjectIdentity, accountKey: AccountKey, to sink: (UnsafeRawBufferPointer) throws -> Void) async throws {
        guard range.upperBound <= manifest.length else {
            throw StorageError(.invalidArgument, "range \(range) is outside the object (length \(manifest.length))")
        }
        var opened: [(object: StoredObject, index: Int, start: UInt64, entry: BlockManifest.Entry)] = []
        var start: UInt64 = 0
        for (index, entry) in manifest.entries.enumerated() {
            defer { start += entry.length }
            guard start + entry.length > range.lowerBound, start < range.upperBound else { continue }
            do {
                let object = try await StoredObject.open(backend, try BackendName(id, manifest.blockFileName(objectHash: objectHash, index: index)))
                opened.append((object, index, start, entry))
            } catch let error as StorageError where error.code == .notFound {
                throw VersionGone()
            }
        }
        for block in opened {
            let reader = try await block.object.reader(accountKey: accountKey, context: identity.context)
            guard ConstantTime.equals(try SHA256.hash(reader.cipher.fixedHeader), block.entry.headerHash),
                  reader.length == block.entry.length, reader.metadata.name == name else {
                throw StorageError.integrity("block \(block.index) of '\(name)' is not the block that was committed")
            }
            let end = block.start + block.entry.length
            let lo = max(range.lowerBound, block.start) - block.start, hi = min(range.upperBound, end) - block.start
            try await block.object.read(reader, range: lo..<hi, to: sink)
        }
    }

    /// Removes staged blocks staged more than `retentionSeconds` ago, and
    /// committed blocks no current manifest references (left by a crash or
    /// a lost race) once they are that old too (a block's age is its sealed
    /// creation time: the backend keeps no clock of its own). Returns the count.
    @discardableResult
    public func collectGarbage(account: String, container: String, retentionSeconds: Int, accountKey: AccountKey) async throws -> Int {
        let id = try await existingContainer(account, container, accountKey)
        let names = try await allNames(in: id)
        var live = Set<String>()
        for name in names where name.hasPrefix("o-") {
            if let current = try? await committedManifest(try BackendName(id, name), account: account, container: container, accountKey: accountKey) {
                let hash = String(name.dropFirst(2))
                for index in current.manifest.entries.indices { live.insert(current.manifest.blockFileName(objectHash: hash, index: index)) }
            }
        }
        let cutoff = Self.nowMillis() - Int64(retentionSeconds) * 1000
        let blockContext = ObjectIdentity(account: account, container: container, kind: .block).context
        var removed = 0
        for name in names where name.hasPrefix("s-") || (name.hasPrefix("b-") && !live.contains(name)) {
            let backendName = try BackendName(id, name)
            guard let object = try? await StoredObject.open(backend, backendName),
                  let reader = try? await object.reader(accountKey: accountKey, context: blockContext),
                  reader.metadata.creationTime <= cutoff else { continue }
            if (try? await backend.delete(backendName, condition: .mustMatch(object.version))) != nil { removed += 1 }
        }
        return removed
    }

    /// Every name in a backend container, all pages.
    func allNames(in id: BackendContainer, prefix: String = "") async throws -> [String] {
        var names: [String] = []
        var continuation: String?
        repeat {
            let page = try await backend.list(id, prefix: prefix, continuation: continuation, limit: 1000)
            names += page.names
            continuation = page.continuation
        } while continuation != nil
        return names
    }
}
