import AtRestCrypto
import Glibc

/// Staged blocks and block-list commit. Each block is sealed independently
/// (its own salt, header and segments) by whichever process stores it, as
/// `s-<hash(container, name, block id)>`; restaging an id replaces it
/// atomically. Commit never re-encrypts: it hard-links the staged files to
/// `b-<object hash>-<commit id>-<n>` and publishes a small sealed manifest as
/// the object, which pins each block file by its header hash.
extension ObjectStore {
    static let blockIDKey = "atrest.block-id"

    func stagedName(_ container: String, _ name: String, _ blockID: [UInt8], _ key: AccountKey) throws -> String {
        "s-" + (try key.hashName(["block", container, name, Hex.encode(blockID)]))
    }

    /// Starts a streaming write of one block of `name`.
    public func beginStageBlock(account: String, container: String, name: String, blockID: [UInt8], contentHash: [UInt8]? = nil,
                                accountKey: AccountKey) throws -> ObjectUpload {
        try Self.validate(name: name)
        guard !blockID.isEmpty, blockID.count <= 64 else { throw StorageError(.invalidArgument, "block id must be 1 to 64 bytes") }
        let dir = try existingContainer(account, container, accountKey)
        let metadata = ObjectMetadata(name: name, userMetadata: [Self.blockIDKey: Hex.encode(blockID)], creationTime: Self.nowMillis())
        return try ObjectUpload(file: try atomicFile(in: dir), targetName: try stagedName(container, name, blockID, accountKey), accountKey: accountKey,
                                identity: ObjectIdentity(account: account, container: container, kind: .block),
                                metadata: metadata, expectedHash: contentHash)
    }

    public func stageBlock(account: String, container: String, name: String, blockID: [UInt8], data: [UInt8],
                           contentHash: [UInt8]? = nil, accountKey: AccountKey) throws {
        let upload = try beginStageBlock(account: account, container: container, name: name, blockID: blockID,
                                         contentHash: contentHash, accountKey: accountKey)
        try upload.append(data)
        try upload.finish()
    }

    /// Publishes `blockIDs` (in order, repeats allowed) as the object `name`.
    @discardableResult
    public func commitBlocks(account: String, container: String, name: String, blockIDs: [[UInt8]], userMetadata: [String: String] = [:],
                             contentType: String = "application/octet-stream", accountKey: AccountKey) throws -> ObjectMetadata {
        try Self.validate(name: name)
        let dir = try existingContainer(account, container, accountKey)
        let hash = try objectHash(container, name, accountKey)
        let blockIdentity = ObjectIdentity(account: account, container: container, kind: .block)
        var manifest = BlockManifest(commitID: Hex.encode(try SecureRandom.bytes(8)), entries: [])
        for (index, blockID) in blockIDs.enumerated() {
            let staged = "\(dir)/\(try stagedName(container, name, blockID, accountKey))"
            guard let fd = try FileSystem.openForReading(staged) else {
                throw StorageError(.invalidArgument, "block \(Hex.encode(blockID)) of '\(name)' was not staged (or was already committed)")
            }
            defer { close(fd) }
            let reader = try ObjectReader(source: try FileSource(descriptor: fd), accountKey: accountKey, context: blockIdentity.context)
            guard reader.metadata.name == name, reader.metadata.userMetadata[Self.blockIDKey] == Hex.encode(blockID) else {
                throw StorageError.integrity("staged block file for \(Hex.encode(blockID)) belongs to another block (spliced)")
            }
            manifest.entries.append(.init(blockID: blockID, length: reader.length, headerHash: try SHA256.hash(reader.cipher.fixedHeader),
                                          contentHash: reader.metadata.contentHash))
            let committed = "\(dir)/\(manifest.blockFileName(objectHash: hash, index: index))"
            guard link(staged, committed) == 0 else { throw SystemCall.error("link", committed) }
        }
        try FileSystem.syncDirectory(dir)
        let previous = try? committedManifest(dir: dir, hash: hash, account: account, container: container, accountKey: accountKey)
        let metadata = ObjectMetadata(name: name, userMetadata: userMetadata, contentType: contentType, length: manifest.length,
                                      creationTime: Self.nowMillis(), contentHash: try manifest.compositeHash())
        let sealer = try ObjectSealer(accountKey: accountKey, context: ObjectIdentity(account: account, container: container).context,
                                      metadata: metadata, flags: .manifest)
        let file = try atomicFile(in: dir)
        try sealer.provisionalHeader.withUnsafeBytes { try file.append($0) }
        try sealer.append(try manifest.encode()) { try file.append($0) }
        let (header, _) = try sealer.finish(contentHash: metadata.contentHash) { try file.append($0) }
        try file.overwrite(at: 0, header)
        try file.commit(as: "o-\(hash)")
        if let previous { removeBlockFiles(of: previous, dir: dir, objectHash: hash) }
        for blockID in Set(blockIDs) { _ = try? FileSystem.remove("\(dir)/\(try stagedName(container, name, blockID, accountKey))") }
        return metadata
    }

    /// A block file of the manifest being read was gone: a commit replaced
    /// the block list in between (or the file was lost); `read` looks again.
    struct BlockFileGone: Error {
        var index: Int
    }

    /// Reads `range` of a committed block list, opening only the blocks it
    /// touches. Every block file is opened (and share-locked, which pins it:
    /// see `SparePool`) before the first byte goes to `sink`, so a commit
    /// that replaces the block list meanwhile cannot pull a file out from
    /// under the read; if one is already gone, nothing was emitted and the
    /// caller can read the new block list instead (`BlockFileGone`).
    func readBlocks(_ manifest: BlockManifest, range: Range<UInt64>, dir: String, objectHash: String, name: String,
                    identity: ObjectIdentity, accountKey: AccountKey, to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard range.upperBound <= manifest.length else {
            throw StorageError(.invalidArgument, "range \(range) is outside the object (length \(manifest.length))")
        }
        var opened: [(fd: Int32, index: Int, start: UInt64, entry: BlockManifest.Entry)] = []
        defer { for block in opened { close(block.fd) } }
        var start: UInt64 = 0
        for (index, entry) in manifest.entries.enumerated() {
            defer { start += entry.length }
            guard start + entry.length > range.lowerBound, start < range.upperBound else { continue }
            let path = "\(dir)/\(manifest.blockFileName(objectHash: objectHash, index: index))"
            guard let fd = try FileSystem.openForReading(path) else { throw BlockFileGone(index: index) }
            opened.append((fd, index, start, entry))
        }
        for block in opened {
            let reader = try ObjectReader(source: try FileSource(descriptor: block.fd), accountKey: accountKey, context: identity.context)
            guard ConstantTime.equals(try SHA256.hash(reader.cipher.fixedHeader), block.entry.headerHash),
                  reader.length == block.entry.length, reader.metadata.name == name else {
                throw StorageError.integrity("block file \(block.index) of '\(name)' is not the block that was committed")
            }
            let end = block.start + block.entry.length
            let lo = max(range.lowerBound, block.start) - block.start, hi = min(range.upperBound, end) - block.start
            try reader.read(range: lo..<hi, to: sink)
        }
    }

    /// Removes staged blocks older than `retentionSeconds`, and committed
    /// block files no current manifest references (left by a crash or a lost
    /// race) once they are older than the retention too.
    @discardableResult
    public func collectGarbage(account: String, container: String, retentionSeconds: Int, accountKey: AccountKey) throws -> Int {
        let dir = try existingContainer(account, container, accountKey)
        let cutoff = time(nil) - time_t(retentionSeconds)
        let entries = try FileSystem.list(dir)
        var live = Set<String>()
        for entry in entries where entry.hasPrefix("o-") {
            let hash = String(entry.dropFirst(2))
            if let manifest = try? committedManifest(dir: dir, hash: hash, account: account, container: container, accountKey: accountKey) {
                for index in manifest.entries.indices { live.insert(manifest.blockFileName(objectHash: hash, index: index)) }
            }
        }
        var removed = 0
        for entry in entries where entry.hasPrefix("s-") || (entry.hasPrefix("b-") && !live.contains(entry)) {
            let path = "\(dir)/\(entry)"
            if let mtime = FileSystem.modificationTime(path), mtime <= cutoff, try FileSystem.remove(path) { removed += 1 }
        }
        return removed
    }
}
