import AtRestCrypto
import Glibc

/// The durable local store: accounts → containers → objects under one data
/// directory, every file in format v1, every name on disk a keyed hash.
///
/// Layout (see docs/FORMAT.md): `a-<account hash>/c-<container hash>/` holds
/// `container` (the sealed container name), `o-<object hash>` (one file per
/// object version), `s-<hash>` (staged blocks), `b-<object hash>-<commit>-<n>`
/// (committed blocks) and `.tmp-*` (writes in progress). Safe for several
/// processes sharing the directory: every publish is an atomic rename.
///
/// Every call takes the caller's unwrapped `AccountKey`; the store never
/// talks to a vault.
public final class ObjectStore: Sendable {
    public let directory: String
    /// Temp files of dead writers removed when the store was opened.
    public let cleanedTempFiles: Int
    /// This instance's liveness lock; its id names the temp files it writes.
    let writer: WriterLock
    /// Replaced small files kept for reuse by this instance's writes.
    let spares = SparePool()
    /// Directory fsyncs shared by this instance's concurrent writes.
    let directorySync = DirectorySync()

    /// Opens (creating if needed) the store at `directory` and removes temp
    /// files left by store instances that are gone (`WriterLock`).
    public init(directory: String) throws {
        self.directory = directory
        try FileSystem.makeDirectory(directory)
        writer = try WriterLock(storeDirectory: directory)
        cleanedTempFiles = try AtomicFile.cleanStoreLeftovers(directory, writers: writer)
    }

    // MARK: Paths

    /// A temp file in `dir` for an atomic write by this instance.
    func atomicFile(in dir: String) throws -> AtomicFile {
        try AtomicFile(directory: dir, owner: writer.id, spares: spares, directorySync: directorySync)
    }

    func accountPath(_ account: String, _ key: AccountKey) throws -> String {
        "\(directory)/a-\(try key.hashName(["account", account]))"
    }

    func containerPath(_ account: String, _ container: String, _ key: AccountKey) throws -> String {
        "\(try accountPath(account, key))/c-\(try key.hashName(["container", container]))"
    }

    /// The container directory, or `.containerNotFound`.
    func existingContainer(_ account: String, _ container: String, _ key: AccountKey) throws -> String {
        let path = try containerPath(account, container, key)
        guard FileSystem.exists("\(path)/container") else {
            throw StorageError(.containerNotFound, "container '\(container)' does not exist in account '\(account)'")
        }
        return path
    }

    func objectHash(_ container: String, _ name: String, _ key: AccountKey) throws -> String {
        try key.hashName(["object", container, name])
    }

    static func validate(name: String) throws {
        guard !name.isEmpty, name.utf8.count <= 1024 else {
            throw StorageError(.invalidArgument, "object name must be 1 to 1024 bytes of UTF-8")
        }
    }

    // MARK: Objects

    /// Starts a streaming write of `name`; call `append` then `finish`.
    /// `contentHash` (SHA-256 from the client) is verified before publishing.
    public func beginPut(account: String, container: String, name: String, userMetadata: [String: String] = [:],
                         contentType: String = "application/octet-stream", contentHash: [UInt8]? = nil,
                         accountKey: AccountKey) throws -> ObjectUpload {
        try Self.validate(name: name)
        let dir = try existingContainer(account, container, accountKey)
        let hash = try objectHash(container, name, accountKey)
        let metadata = ObjectMetadata(name: name, userMetadata: userMetadata, contentType: contentType, creationTime: Self.nowMillis())
        let previous = try? committedManifest(dir: dir, hash: hash, account: account, container: container, accountKey: accountKey)
        return try ObjectUpload(file: try atomicFile(in: dir), targetName: "o-\(hash)", accountKey: accountKey,
                                identity: ObjectIdentity(account: account, container: container), metadata: metadata,
                                expectedHash: contentHash) { [self] in
            if let previous { removeBlockFiles(of: previous, dir: dir, objectHash: hash) }
        }
    }

    /// Writes a whole object from memory.
    @discardableResult
    public func put(account: String, container: String, name: String, data: [UInt8], userMetadata: [String: String] = [:],
                    contentType: String = "application/octet-stream", contentHash: [UInt8]? = nil,
                    accountKey: AccountKey) throws -> ObjectMetadata {
        let upload = try beginPut(account: account, container: container, name: name, userMetadata: userMetadata,
                                  contentType: contentType, contentHash: contentHash, accountKey: accountKey)
        return try data.withUnsafeBytes { try upload.write(whole: $0) }
    }

    /// Streams the plaintext of `range` (default: all) to `sink`, decrypting
    /// only the segments (and blocks) the range touches. Returns the metadata.
    ///
    /// With `clipToLength`, a range reaching past the end is cut to the
    /// object that was opened (a "next block" read needs no length up front,
    /// and an overwrite between a length lookup and the read cannot make the
    /// range invalid). `willRead` sees the range that will be read before the
    /// first byte, e.g. to refuse one that is too large.
    @discardableResult
    public func read(account: String, container: String, name: String, range: Range<UInt64>? = nil,
                     clipToLength: Bool = false, accountKey: AccountKey,
                     willRead: (Range<UInt64>) throws -> Void = { _ in },
                     to sink: (UnsafeRawBufferPointer) throws -> Void) throws -> ObjectMetadata {
        let dir = try existingContainer(account, container, accountKey)
        let hash = try objectHash(container, name, accountKey)
        // A block list replaced while it is read: its old block files go away,
        // so read the new one (nothing was emitted yet; see `readBlocks`).
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try withObject(dir: dir, hash: hash, name: name, account: account, container: container, accountKey: accountKey) { reader in
                    let length = reader.metadata.length
                    var range = range ?? 0..<length
                    if clipToLength { range = min(range.lowerBound, length)..<min(range.upperBound, length) }
                    try willRead(range)
                    if reader.isManifest {
                        let manifest = try BlockManifest.decode(try reader.readAll())
                        guard manifest.length == reader.metadata.length else { throw StorageError.integrity("block list length differs from the object's length") }
                        try readBlocks(manifest, range: range, dir: dir, objectHash: hash, name: name,
                                       identity: ObjectIdentity(account: account, container: container, kind: .block),
                                       accountKey: accountKey, to: sink)
                    } else {
                        try reader.read(range: range, to: sink)
                    }
                    return reader.metadata
                }
            } catch let gone as BlockFileGone {
                guard attempt < 4 else { throw StorageError.integrity("block file \(gone.index) of '\(name)' is missing") }
            }
        }
    }

    /// The object (or a range of it) in memory.
    public func get(account: String, container: String, name: String, range: Range<UInt64>? = nil,
                    accountKey: AccountKey) throws -> (metadata: ObjectMetadata, data: [UInt8]) {
        var data: [UInt8] = []
        let metadata = try read(account: account, container: container, name: name, range: range, accountKey: accountKey) {
            data.append(contentsOf: $0)
        }
        return (metadata, data)
    }

    /// Name, properties and user metadata, from the header only.
    public func metadata(account: String, container: String, name: String, accountKey: AccountKey) throws -> ObjectMetadata {
        let dir = try existingContainer(account, container, accountKey)
        let hash = try objectHash(container, name, accountKey)
        return try withObject(dir: dir, hash: hash, name: name, account: account, container: container, accountKey: accountKey) { $0.metadata }
    }

    /// Replaces user metadata and/or content type: a new header (re-sealed
    /// under the same object key) plus the unchanged ciphertext, published
    /// atomically. Data is copied, never re-encrypted.
    @discardableResult
    public func setMetadata(account: String, container: String, name: String, userMetadata: [String: String]? = nil,
                            contentType: String? = nil, accountKey: AccountKey) throws -> ObjectMetadata {
        let dir = try existingContainer(account, container, accountKey)
        let hash = try objectHash(container, name, accountKey)
        return try withObject(dir: dir, hash: hash, name: name, account: account, container: container, accountKey: accountKey) { reader in
            var metadata = reader.metadata
            if let userMetadata { metadata.userMetadata = userMetadata }
            if let contentType { metadata.contentType = contentType }
            let header = try reader.resealedHeader(metadata)
            let file = try atomicFile(in: dir)
            try header.withUnsafeBytes { try file.append($0) }
            try reader.copyData { try file.append($0) }
            try file.commit(as: "o-\(hash)")
            return metadata
        }
    }

    /// Deletes the object (and, for a committed block list, its block files).
    public func delete(account: String, container: String, name: String, accountKey: AccountKey) throws {
        let dir = try existingContainer(account, container, accountKey)
        let hash = try objectHash(container, name, accountKey)
        let manifest = try committedManifest(dir: dir, hash: hash, account: account, container: container, accountKey: accountKey)
        guard try FileSystem.remove("\(dir)/o-\(hash)") else {
            throw StorageError(.notFound, "object '\(name)' does not exist in container '\(container)'")
        }
        try FileSystem.syncDirectory(dir)
        if let manifest { removeBlockFiles(of: manifest, dir: dir, objectHash: hash) }
    }

    // MARK: Helpers

    /// Opens `o-<hash>` and checks that its decrypted name is `name` (binds
    /// the name to the file, since the object key does not include it).
    func withObject<R>(dir: String, hash: String, name: String?, account: String, container: String, accountKey: AccountKey,
                       _ body: (ObjectReader) throws -> R) throws -> R {
        guard let fd = try FileSystem.openForReading("\(dir)/o-\(hash)") else {
            throw StorageError(.notFound, "object '\(name ?? hash)' does not exist in container '\(container)'")
        }
        defer { close(fd) }
        let reader = try ObjectReader(source: try FileSource(descriptor: fd), accountKey: accountKey,
                                      context: ObjectIdentity(account: account, container: container).context)
        // `hash` was computed from `name` when it is given: comparing names is
        // the same check without a second keyed hash on every read.
        let matches = try name.map { $0 == reader.metadata.name } ?? (objectHash(container, reader.metadata.name, accountKey) == hash)
        guard matches else {
            throw StorageError.integrity("object file o-\(hash) holds another object's header (spliced)")
        }
        return try body(reader)
    }

    /// The block manifest of the current version of `hash`, if it is a committed block list.
    func committedManifest(dir: String, hash: String, account: String, container: String, accountKey: AccountKey) throws -> BlockManifest? {
        // The manifest flag is in the clear preamble: plain objects need no decryption here.
        guard let fd = try FileSystem.openForReading("\(dir)/o-\(hash)") else { return nil }
        let preamble = try? FileSource(descriptor: fd).read(at: 0, count: ObjectHeader.preambleSize)
        close(fd)
        guard let preamble, ObjectHeader.Flags(rawValue: UInt16(preamble[6]) << 8 | UInt16(preamble[7])).contains(.manifest) else { return nil }
        return try withObject(dir: dir, hash: hash, name: nil, account: account, container: container, accountKey: accountKey) { reader in
            reader.isManifest ? try BlockManifest.decode(try reader.readAll()) : nil
        }
    }

    /// Drops a replaced or deleted block list's block files (recycled as
    /// spares while the pool has room, see `SparePool`).
    func removeBlockFiles(of manifest: BlockManifest, dir: String, objectHash: String) {
        for index in manifest.entries.indices {
            AtomicFile.discard("\(dir)/\(manifest.blockFileName(objectHash: objectHash, index: index))", in: dir, owner: writer.id, spares: spares)
        }
    }

    static func nowMillis() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
