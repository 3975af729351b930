import AtRestCrypto
import Glibc
import Tracing

/// The encrypted object store: accounts → containers → objects on a
/// `StorageBackend` (a directory, a RADOS pool), every object in format v1
/// (docs/FORMAT.md), every name the backend sees a keyed hash.
///
/// Layout (backend names): the backend container `a-<account hash>/c-<container
/// hash>` holds `container` (the sealed container name), `o-<object hash>`
/// (the current version of an object), `s-<hash>` (staged blocks) and
/// `b-<object hash>-<commit>-<n>` (committed blocks). Every object is sealed
/// whole in memory first (`ObjectSealing`), then written in one backend put:
/// nothing is visible until it is complete and durable, and a failed content
/// hash writes nothing at all.
///
/// Every call takes the caller's unwrapped `AccountKey`; the store never
/// talks to a vault. Every call is `async` and leaves blocking I/O to the
/// backend (`BlockingIO` for files, completions for librados).
public final class ObjectStore: Sendable {
    public let backend: any StorageBackend
    /// Containers whose marker was seen lately (`ContainerCache`: why a
    /// stale entry is harmless).
    let containers = ContainerCache()
    /// Plain objects this store put lately, which its next put of the same
    /// name replaces blind (`BlindReplaceCache`); used only on a backend
    /// with a `blindReplaceLimit`.
    let blindReplaceable = BlindReplaceCache()

    public init(backend: any StorageBackend) {
        self.backend = backend
    }

    /// A store on a local directory (`LocalBackend`).
    public convenience init(directory: String) throws {
        self.init(backend: try LocalBackend(directory: directory))
    }

    /// The directory of a local store; nil on other backends.
    public var directory: String? { (backend as? LocalBackend)?.directory }

    // MARK: Names

    /// The backend container of `account` (`a-<H("account", account)>`):
    /// what recovery matches against the accounts a store holds.
    public func accountContainerID(account: String, accountKey: AccountKey) throws -> String {
        try accountContainer(account, accountKey).id
    }

    func accountContainer(_ account: String, _ key: AccountKey) throws -> BackendContainer {
        try key.accountContainer(account)
    }

    func containerID(_ account: String, _ container: String, _ key: AccountKey) throws -> BackendContainer {
        try BackendContainer("\(try accountContainer(account, key).id)/c-\(try key.hashName(["container", container]))")
    }

    static func marker(_ container: BackendContainer) throws -> BackendName { try BackendName(container, "container") }

    /// The container's backend id, or `.containerNotFound`.
    func existingContainer(_ account: String, _ container: String, _ key: AccountKey) async throws -> BackendContainer {
        let id = try containerID(account, container, key)
        try await requireContainer(id, account, container)
        return id
    }

    /// `.containerNotFound` unless the container's marker exists (or was
    /// seen within `ContainerCache.lifetime`).
    func requireContainer(_ id: BackendContainer, _ account: String, _ container: String) async throws {
        if containers.contains(id) { return }
        do {
            _ = try await backend.stat(try Self.marker(id))
            containers.insert(id)
        } catch let error as StorageError where error.code == .notFound || error.code == .containerNotFound {
            throw Self.noContainer(account, container)
        }
    }

    static func noContainer(_ account: String, _ container: String) -> StorageError {
        StorageError(.containerNotFound, "container '\(container)' does not exist in account '\(account)'")
    }

    /// Runs a write into container `id`; a backend that finds the container
    /// gone (deleted since its marker was cached) drops it from the cache.
    func writing<T>(into id: BackendContainer, _ account: String, _ container: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as StorageError where error.code == .containerNotFound {
            containers.remove(id)
            throw Self.noContainer(account, container)
        }
    }

    func objectHash(_ container: String, _ name: String, _ key: AccountKey) throws -> String {
        try key.hashName(["object", container, name])
    }

    func objectName(_ id: BackendContainer, _ hash: String) throws -> BackendName { try BackendName(id, "o-\(hash)") }

    static func validate(name: String) throws {
        guard !name.isEmpty, name.utf8.count <= 1024 else {
            throw StorageError(.invalidArgument, "object name must be 1 to 1024 bytes of UTF-8")
        }
    }

    // MARK: Objects

    /// Writes `name` from `length` bytes that `feed` passes in pieces (e.g. a
    /// request's received frames, not copied first). `contentHash` (SHA-256
    /// from the client) is verified before anything is written.
    @discardableResult
    public func put(account: String, container: String, name: String, userMetadata: [String: String] = [:],
                    contentType: String = "application/octet-stream", contentHash: [UInt8]? = nil, accountKey: AccountKey,
                    length: Int, feed: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) async throws -> ObjectMetadata {
        try Self.validate(name: name)
        let id = try containerID(account, container, accountKey)
        let hash = try objectHash(container, name, accountKey)
        let target = try objectName(id, hash)
        // A name this store put lately as a plain object is replaced blind:
        // no probe, one backend write (`BlindReplaceCache`). Otherwise the
        // container check and the probe of the version this put replaces
        // are independent backend reads: both run while the object is sealed
        // (on a networked backend each is a round trip).
        //
        // Each backend read runs as a child task only when it is needed: a
        // child task is a hand-off to another thread, which on a small put
        // costs more than the put's sealing.
        let blindLimit = backend.blindReplaceLimit
        let blind = blindLimit.map { length < $0 } == true && blindReplaceable.contains(target)
        let containerKnown = containers.contains(id)
        let metadata = ObjectMetadata(name: name, userMetadata: userMetadata, contentType: contentType, creationTime: Self.nowMillis())
        func seal() throws -> (buffer: AlignedBuffer, metadata: ObjectMetadata) {
            try withSpan("seal") { span in
                span.attributes["atrest.bytes"] = length
                return try ObjectSealing.seal(metadata: metadata, identity: ObjectIdentity(account: account, container: container),
                                              accountKey: accountKey, expectedHash: contentHash, length: length, feed: feed)
            }
        }
        let sealed: (buffer: AlignedBuffer, metadata: ObjectMetadata)
        var previous: ReplacedVersion?
        switch (containerKnown, blind) {
        case (true, true):
            sealed = try seal()
        case (true, false):
            async let probe = try? replacedVersion(target, account: account, container: container, accountKey: accountKey)
            sealed = try seal()
            previous = await probe
        case (false, _):
            async let exists: Void = requireContainer(id, account, container)
            async let probe = blind ? nil : try? replacedVersion(target, account: account, container: container, accountKey: accountKey)
            sealed = try seal()
            try await exists
            previous = await probe
        }
        if blind, let blindLimit, sealed.buffer.count <= blindLimit {
            do {
                _ = try await withSpan("storage write") { _ in
                    try await writing(into: id, account, container) {
                        try await backend.put(target, sealed.buffer, condition: .none, hint: .blind, blindReplaceable: true)
                    }
                }
                return sealed.metadata
            } catch let error as StorageError where error.code == .conditionFailed {
                // Not a plain object of this store's any more (or gone): look, then put as below.
                blindReplaceable.remove(target)
            }
        }
        let previousVersion = blind ? try? await replacedVersion(target, account: account, container: container, accountKey: accountKey)
                                    : previous
        try await withSpan("storage write") { _ in
            try await writing(into: id, account, container) {
                try await publish(sealed.buffer, id: id, hash: hash, previous: previousVersion, blindReplaceable: true)
            }
        }
        return sealed.metadata
    }

    @discardableResult
    public func put(account: String, container: String, name: String, data: [UInt8], userMetadata: [String: String] = [:],
                    contentType: String = "application/octet-stream", contentHash: [UInt8]? = nil,
                    accountKey: AccountKey) async throws -> ObjectMetadata {
        // One piece: sealed in place (`ObjectSealing`).
        try await put(account: account, container: container, name: name, userMetadata: userMetadata, contentType: contentType,
                      contentHash: contentHash, accountKey: accountKey, length: data.count) { append in
            try data.withUnsafeBytes { try append($0) }
        }
    }

    /// The version of an object a put is about to replace, opened while the
    /// put is sealed: the backend may write over it without reading it again
    /// (`StorageBackend.beginPut(_:condition:hint:)`), and its block
    /// list, if it is one, goes once the put is done.
    struct ReplacedVersion: Sendable {
        /// Nil: there was none (the backend need not look again).
        var object: (any BackendObject)?
        var manifest: BlockManifest?
        /// A block list's sealed metadata (nil for a plain object).
        var metadata: ObjectMetadata? = nil

        var hint: PutHint { object.map { .replacing($0) } ?? .absent }
    }

    func replacedVersion(_ name: BackendName, account: String, container: String, accountKey: AccountKey) async throws -> ReplacedVersion {
        guard let object = try await StoredObject.openIfPresent(backend, name) else { return ReplacedVersion(object: nil, manifest: nil) }
        let list = try await committedList(object, account: account, container: container, accountKey: accountKey)
        return ReplacedVersion(object: object.object, manifest: list?.manifest, metadata: list?.metadata)
    }

    /// Makes `buffer` the current version of `o-<hash>` (last writer wins),
    /// then drops the block files of the block list it replaced (`previous`,
    /// probed before), except those in `keeping` (the new block list's own).
    ///
    /// `blindReplaceable`: a plain object (not a block list), which a later
    /// put may replace without this probe (`PutHint.blind`): remembered in
    /// `BlindReplaceCache` when the backend can, else forgotten there.
    func publish(_ buffer: AlignedBuffer, id: BackendContainer, hash: String, previous: ReplacedVersion?,
                 keeping: Set<String> = [], blindReplaceable: Bool = false) async throws {
        let name = try objectName(id, hash)
        try await backend.put(name, buffer, condition: .none, hint: previous?.hint ?? .unknown, blindReplaceable: blindReplaceable)
        if blindReplaceable, let limit = backend.blindReplaceLimit, buffer.count <= limit {
            self.blindReplaceable.insert(name)
        } else {
            self.blindReplaceable.remove(name)
        }
        if let manifest = previous?.manifest { await removeBlocks(of: manifest, id: id, objectHash: hash, keeping: keeping) }
    }

    /// One backend put of a sealed buffer; nothing is visible on failure.
    @discardableResult
    func write(_ buffer: AlignedBuffer, to name: BackendName, condition: WriteCondition,
               hint: PutHint = .unknown, blindReplaceable: Bool = false) async throws -> BackendVersion {
        try await backend.put(name, buffer, condition: condition, hint: hint, blindReplaceable: blindReplaceable)
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
                     to sink: (UnsafeRawBufferPointer) throws -> Void) async throws -> ObjectMetadata {
        try await withoutActuallyEscaping(sink) { sink in
            try await read(account: account, container: container, name: name, range: range, clipToLength: clipToLength,
                           accountKey: accountKey) { range in
                try willRead(range)
                return .sink(sink)
            }
        }
    }

    /// The same, decrypting straight into the buffer `output` returns for the
    /// range that will be read (exactly `range.count` bytes; a Get's reply
    /// frame), with no copy after the cipher. When the object is replaced
    /// meanwhile, `output` is asked again for the new version's range.
    @discardableResult
    public func read(account: String, container: String, name: String, range: Range<UInt64>? = nil,
                     clipToLength: Bool = false, accountKey: AccountKey,
                     into output: (Range<UInt64>) throws -> UnsafeMutableRawBufferPointer) async throws -> ObjectMetadata {
        try await read(account: account, container: container, name: name, range: range, clipToLength: clipToLength,
                       accountKey: accountKey) { range in .buffer(try output(range)) }
    }

    private func read(account: String, container: String, name: String, range: Range<UInt64>?, clipToLength: Bool,
                      accountKey: AccountKey,
                      destination: (Range<UInt64>) throws -> PlaintextDestination) async throws -> ObjectMetadata {
        let id = try await existingContainer(account, container, accountKey)
        let hash = try objectHash(container, name, accountKey)
        let identity = ObjectIdentity(account: account, container: container)
        // A version replaced while it is read (its blocks removed, or a
        // backend that cannot pin versions): read the new one, as long as
        // nothing was emitted yet (a buffer is simply written again).
        var emitted = false
        var attempt = 0
        while true {
            attempt += 1
            do {
                let (object, reader) = try await open(try objectName(id, hash), name: name, identity: identity, accountKey: accountKey)
                try reader.requireCustomerKey()
                let length = reader.metadata.length
                var range = range ?? 0..<length
                if clipToLength { range = min(range.lowerBound, length)..<min(range.upperBound, length) }
                var target = try destination(range)
                switch target {
                case .sink(let sink): target = .sink { emitted = true; try sink($0) }
                case .buffer(let output) where output.count != range.count:
                    throw StorageError(.invalidArgument, "output buffer holds \(output.count) bytes, the range \(range.count)")
                case .buffer: break
                }
                if reader.isManifest {
                    let manifest = try BlockManifest.decode(try await object.readAll(reader))
                    guard manifest.length == length else { throw StorageError.integrity("block list length differs from the object's length") }
                    try await readBlocks(manifest, range: range, id: id, objectHash: hash, name: name,
                                         identity: ObjectIdentity(account: account, container: container, kind: .block),
                                         accountKey: accountKey, to: target)
                } else {
                    try await object.read(reader, range: range, to: target)
                }
                return reader.metadata
            } catch is VersionGone where !emitted && attempt < 4 {
                continue
            } catch is VersionGone {
                throw StorageError(.conditionFailed, "object '\(name)' was replaced while it was read; read it again")
            }
        }
    }

    /// The object (or a range of it) in memory.
    public func get(account: String, container: String, name: String, range: Range<UInt64>? = nil,
                    accountKey: AccountKey) async throws -> (metadata: ObjectMetadata, data: [UInt8]) {
        var data: [UInt8] = []
        let metadata = try await read(account: account, container: container, name: name, range: range, accountKey: accountKey) {
            data.append(contentsOf: $0)
        }
        return (metadata, data)
    }

    /// Name, properties and user metadata, from the header only.
    public func metadata(account: String, container: String, name: String, accountKey: AccountKey) async throws -> ObjectMetadata {
        let id = try await existingContainer(account, container, accountKey)
        let name = try objectName(id, try objectHash(container, name, accountKey))
        let reader = try await open(name, name: nil, identity: ObjectIdentity(account: account, container: container), accountKey: accountKey).reader
        try reader.requireCustomerKey()
        return reader.metadata
    }

    /// Replaces user metadata and/or content type: a new header (re-sealed
    /// under the same object key) plus the unchanged ciphertext, published
    /// only if the object is still the version that was read (a put racing
    /// with it is never undone; the change is applied again on the new
    /// version). Data is copied, never re-encrypted.
    @discardableResult
    public func setMetadata(account: String, container: String, name: String, userMetadata: [String: String]? = nil,
                            contentType: String? = nil, accountKey: AccountKey) async throws -> ObjectMetadata {
        let id = try await existingContainer(account, container, accountKey)
        let target = try objectName(id, try objectHash(container, name, accountKey))
        var attempt = 0
        while true {
            attempt += 1
            do {
                let (object, reader) = try await open(target, name: name, identity: ObjectIdentity(account: account, container: container),
                                                      accountKey: accountKey)
                try reader.requireCustomerKey()
                var metadata = reader.metadata
                if let userMetadata { metadata.userMetadata = userMetadata }
                if let contentType { metadata.contentType = contentType }
                let header = try reader.resealedHeader(metadata)
                let data = try await object.sealedData(reader)
                let buffer = AlignedBuffer(count: header.count + data.count)
                header.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: buffer.mutableBytes[0..<header.count]).copyMemory(from: $0) }
                data.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: buffer.mutableBytes[header.count...]).copyMemory(from: $0) }
                try await write(buffer, to: target, condition: .mustMatch(object.version), blindReplaceable: !reader.isManifest)
                return metadata
            } catch let error as StorageError where error.code == .conditionFailed && attempt < 8 {
                continue
            } catch is VersionGone where attempt < 8 {
                continue
            }
        }
    }

    /// Deletes the object (and, for a committed block list, its block files):
    /// only the version that was read, so the blocks removed are its own.
    public func delete(account: String, container: String, name: String, accountKey: AccountKey) async throws {
        let id = try await existingContainer(account, container, accountKey)
        let hash = try objectHash(container, name, accountKey)
        let target = try objectName(id, hash)
        blindReplaceable.remove(target)
        var attempt = 0
        while true {
            attempt += 1
            let current: (version: BackendVersion, manifest: BlockManifest?)
            do {
                let object = try await StoredObject.open(backend, target)
                let manifest = object.isManifest
                    ? try await committedManifest(object, account: account, container: container, accountKey: accountKey) : nil
                current = (object.version, manifest)
            } catch let error as StorageError where error.code == .notFound {
                throw StorageError(.notFound, "object '\(name)' does not exist in container '\(container)'")
            } catch let error as StorageError where error.code == .conditionFailed && attempt < 8 {
                continue  // replaced while it was opened (RADOS cannot pin a striped version): open the new one
            }
            do {
                try await backend.delete(target, condition: .mustMatch(current.version))
            } catch let error as StorageError where (error.code == .conditionFailed || error.code == .notFound) && attempt < 8 {
                continue
            }
            if let manifest = current.manifest { await removeBlocks(of: manifest, id: id, objectHash: hash) }
            return
        }
    }

    // MARK: Helpers

    /// A version of an object went away between opening and reading it.
    struct VersionGone: Error {}

    /// Opens `name` and checks that its decrypted name is `clearName` when
    /// given (binds the name to the object, since the object key does not
    /// include it), else that it hashes to the backend name.
    func open(_ name: BackendName, name clearName: String?, identity: ObjectIdentity,
              accountKey: AccountKey) async throws -> (object: StoredObject, reader: ObjectReader) {
        let object: StoredObject
        do {
            object = try await StoredObject.open(backend, name)
        } catch let error as StorageError where error.code == .notFound {
            throw StorageError(.notFound, "object '\(clearName ?? name.object)' does not exist in container '\(identity.container)'")
        }
        let reader = try await object.reader(accountKey: accountKey, context: identity.context)
        // The hash was computed from `clearName` when it is given: comparing
        // names is the same check without a second keyed hash on every read.
        let matches = try clearName.map { $0 == reader.metadata.name }
            ?? ("o-" + (try objectHash(identity.container, reader.metadata.name, accountKey)) == name.object)
        guard matches else {
            throw StorageError.integrity("object \(name.object) holds another object's header (spliced)")
        }
        return (object, reader)
    }

    /// The block list of the current version of `name` and that version,
    /// if it is a committed block list (nil for a plain object).
    func committedManifest(_ name: BackendName, account: String, container: String,
                           accountKey: AccountKey) async throws -> (manifest: BlockManifest, version: BackendVersion)? {
        let object = try await StoredObject.open(backend, name)
        guard object.isManifest else { return nil }
        return try await committedManifest(object, account: account, container: container, accountKey: accountKey).map { ($0, object.version) }
    }

    /// The block list in an opened object (the manifest flag is in the clear
    /// preamble: plain objects need no decryption).
    func committedManifest(_ object: StoredObject, account: String, container: String,
                           accountKey: AccountKey) async throws -> BlockManifest? {
        try await committedList(object, account: account, container: container, accountKey: accountKey)?.manifest
    }

    /// The block list in an opened object with the metadata sealed with it.
    func committedList(_ object: StoredObject, account: String, container: String,
                       accountKey: AccountKey) async throws -> (manifest: BlockManifest, metadata: ObjectMetadata)? {
        guard object.isManifest else { return nil }
        let reader = try await object.reader(accountKey: accountKey, context: ObjectIdentity(account: account, container: container).context)
        guard "o-" + (try objectHash(container, reader.metadata.name, accountKey)) == object.name.object else {
            throw StorageError.integrity("object \(object.name.object) holds another object's header (spliced)")
        }
        return (try BlockManifest.decode(try await object.readAll(reader)), reader.metadata)
    }

    /// Drops a replaced or deleted block list's block files (all at once),
    /// except those in `keeping`; one that is already gone (a concurrent
    /// replace dropped it) is fine.
    func removeBlocks(of manifest: BlockManifest, id: BackendContainer, objectHash: String, keeping: Set<String> = []) async {
        let backend = self.backend
        await withTaskGroup(of: Void.self) { group in
            for file in manifest.blockFileNames(objectHash: objectHash).subtracting(keeping) {
                guard let name = try? BackendName(id, file) else { continue }
                group.addTask { try? await backend.delete(name, condition: .none) }
            }
        }
    }

    static func nowMillis() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
