import AtRestCrypto
import Glibc
import Synchronization

/// Staged blocks and block-list commit. Each block is sealed independently
/// (its own salt, header and segments) by whichever process stores it, under
/// a name of its own: `s-<hash(container, name, block id)>-<stage id>`
/// (`stageBlock`; the stage id is the time, a sequence number and random
/// bits, so the latest staging of an id sorts last and none is ever written
/// twice). Commit never
/// re-encrypts and never copies: it finds the latest staging of each id,
/// checks its header, and publishes a small sealed manifest that names those
/// files in place and pins each by its header hash. A staged block file thus
/// becomes part of the committed object; stagings no current manifest names
/// are garbage (`collectGarbage`).
extension ObjectStore {
    static let blockIDKey = "atrest.block-id"
    /// Staged blocks a commit looks up and opens at once.
    static let openInFlight = 16

    /// What every staging of `blockID` of `name` starts with (an earlier
    /// release's staging is exactly this name).
    func stagedPrefix(_ container: String, _ name: String, _ blockID: [UInt8], _ key: AccountKey) throws -> String {
        "s-" + (try key.hashName(["block", container, name, Hex.encode(blockID)]))
    }

    /// A new staging's name: the prefix, the time (ms, 12 hex digits, so
    /// names sort by time), then a sequence number within that millisecond
    /// (4 hex digits) and 48 random bits. The stamp strictly increases
    /// within a process (`StageClock`), so of two stagings of one id made
    /// one after the other, even within a millisecond, the later sorts
    /// last; stagings racing in two processes within a millisecond are
    /// ordered by chance, as any concurrent writers are.
    func stagedName(_ id: BackendContainer, _ prefix: String) throws -> BackendName {
        let (millis, sequence) = StageClock.shared.next(now: Self.nowMillis())
        return try BackendName(id, "\(prefix)-\(Self.hex(millis, digits: 12))-\(Self.hex(sequence, digits: 4))\(Hex.encode(try SecureRandom.bytes(6)))")
    }

    static func hex(_ value: UInt64, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
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
        let staged = try stagedName(id, try stagedPrefix(container, name, blockID, accountKey))
        _ = try await writing(into: id, account, container) { try await write(sealed.buffer, to: staged, condition: .mustNotExist) }
        return sealed.metadata
    }

    @discardableResult
    public func stageBlock(account: String, container: String, name: String, blockID: [UInt8], data: [UInt8],
                           contentHash: [UInt8]? = nil, accountKey: AccountKey) async throws -> ObjectMetadata {
        try await stageBlock(account: account, container: container, name: name, blockID: blockID, contentHash: contentHash,
                             accountKey: accountKey, length: data.count) { append in try data.withUnsafeBytes { try append($0) } }
    }

    /// Publishes `blockIDs` (in order, repeats allowed) as the object `name`:
    /// the latest staging of each id, named in place by the manifest. A
    /// staging under one of `migrating` (older versions of the account's own
    /// chain: staged before a key rotation, committed after it) is staged
    /// again under `accountKey`'s current version first, so the committed
    /// object is under the current version whole (docs/DATA-PATH.md
    /// "Re-encryption job").
    @discardableResult
    public func commitBlocks(account: String, container: String, name: String, blockIDs: [[UInt8]], userMetadata: [String: String] = [:],
                             contentType: String = "application/octet-stream", migrating: Set<UInt32> = [],
                             accountKey: AccountKey) async throws -> ObjectMetadata {
        try Self.validate(name: name)
        let id = try await existingContainer(account, container, accountKey)
        let hash = try objectHash(container, name, accountKey)
        let blockIdentity = ObjectIdentity(account: account, container: container, kind: .block)
        // The version this commit replaces (its block files are removed
        // after, and a block it already holds is not staged any more), read
        // while the stagings are looked up.
        async let previous = try? replacedVersion(try objectName(id, hash), account: account, container: container, accountKey: accountKey)
        let prefixes = try blockIDs.map { try stagedPrefix(container, name, $0, accountKey) }
        let distinct = Array(Set(prefixes))
        let latest = try await distinct.concurrentMap(limit: Self.openInFlight) { try await self.latestStaging(id, $0) }
        let committed = (await previous)?.manifest?.blockFileNames(objectHash: hash) ?? []
        var chosen: [String: BackendName] = [:]
        for (prefix, staging) in zip(distinct, latest) {
            if let staging, !committed.contains(staging.object) { chosen[prefix] = staging }
        }
        if chosen.count < distinct.count, let current = await previous,
           let replayed = Self.replayedCommit(of: current, blockIDs: blockIDs, latest: Dictionary(uniqueKeysWithValues: zip(distinct, latest)),
                                              prefixes: prefixes, userMetadata: userMetadata, contentType: contentType, objectHash: hash) {
            return replayed
        }
        let files = try prefixes.map { prefix in
            guard let file = chosen[prefix] else {
                let blockID = blockIDs[prefixes.firstIndex(of: prefix)!]
                throw StorageError(.invalidArgument, "block \(Hex.encode(blockID)) of '\(name)' was not staged (or was already committed)")
            }
            return file
        }
        let opened = try await openAll(files)
        var manifest = BlockManifest(entries: [])
        var restaged: [String: BlockManifest.Entry] = [:]  // by the old staging's name
        for (index, blockID) in blockIDs.enumerated() {
            guard let block = opened[index] else {
                throw StorageError(.invalidArgument, "block \(Hex.encode(blockID)) of '\(name)' was removed by another call meanwhile; stage it again")
            }
            let reader: ObjectReader
            do {
                reader = try await block.reader(accountKey: accountKey, context: blockIdentity.context)
            } catch let error as StorageError where error.code == .wrongKey {
                throw StorageError(.invalidArgument, "block \(Hex.encode(blockID)) of '\(name)' was staged under an account key version this account "
                                   + "no longer has (retired after the staging): stage it again")
            }
            guard reader.metadata.name == name, reader.metadata.userMetadata[Self.blockIDKey] == Hex.encode(blockID) else {
                throw StorageError.integrity("staged block for \(Hex.encode(blockID)) belongs to another block (spliced)")
            }
            if let moved = restaged[files[index].object] {
                manifest.entries.append(moved)
            } else if Self.mustMove(reader, migrating: migrating, accountKey: accountKey) {
                let moved = try await restageBlock(block, reader, id: id, account: account, container: container, name: name, blockID: blockID, accountKey: accountKey)
                restaged[files[index].object] = moved
                manifest.entries.append(moved)
            } else {
                manifest.entries.append(.init(blockID: blockID, length: reader.length, headerHash: try SHA256.hash(reader.cipher.fixedHeader),
                                              contentHash: reader.metadata.contentHash, file: files[index].object))
            }
        }
        let metadata = ObjectMetadata(name: name, userMetadata: userMetadata, contentType: contentType, length: manifest.length,
                                      creationTime: Self.nowMillis(), contentHash: try manifest.compositeHash())
        let sealed = try manifest.encode().withUnsafeBytes { encoded in
            try ObjectSealing.seal(whole: encoded, metadata: metadata, identity: ObjectIdentity(account: account, container: container),
                                   flags: .manifest, accountKey: accountKey, expectedHash: nil)
        }
        do {
            try await publish(sealed.buffer, id: id, hash: hash, previous: await previous, keeping: manifest.blockFileNames(objectHash: hash))
        } catch {
            await removeFiles(restaged.values.map(\.file), id: id)
            throw error
        }
        // The stagings moved to the current version are not named by anything now.
        await removeFiles(Array(restaged.keys), id: id)
        return sealed.metadata
    }

    /// The current version's metadata when this commit is the one that made
    /// it, sent again (a client's retry or the broker's re-dispatch of a
    /// commit whose reply was lost): the same block ids in the same order,
    /// each the latest staging of its id and already in the current list,
    /// and the same metadata and content type. Nil otherwise (a block
    /// missing or already committed is then the caller's error). Answering
    /// it writes nothing, so it cannot race another commit; what the caller
    /// asked for is what is stored.
    static func replayedCommit(of current: ReplacedVersion, blockIDs: [[UInt8]], latest: [String: BackendName?], prefixes: [String],
                               userMetadata: [String: String], contentType: String, objectHash: String) -> ObjectMetadata? {
        guard let manifest = current.manifest, let metadata = current.metadata, manifest.entries.count == blockIDs.count,
              metadata.userMetadata == userMetadata, metadata.contentType == contentType else { return nil }
        for (index, (blockID, prefix)) in zip(blockIDs, prefixes).enumerated() {
            guard manifest.entries[index].blockID == blockID, let staging = latest[prefix] ?? nil,
                  staging.object == manifest.blockFileName(objectHash: objectHash, index: index) else { return nil }
        }
        return metadata
    }

    /// Whether a block read with `reader` is under one of `migrating` (nil:
    /// any version but the current one) and can be sealed again here.
    static func mustMove(_ reader: ObjectReader, migrating: Set<UInt32>?, accountKey: AccountKey) -> Bool {
        isMigrating(reader, migrating, accountKey) && canReseal(reader, accountKey: accountKey)
    }

    /// Whether what `reader` opened is under one of `migrating` (nil: any
    /// version but `accountKey`'s current one).
    static func isMigrating(_ reader: ObjectReader, _ migrating: Set<UInt32>?, _ accountKey: AccountKey) -> Bool {
        let version = reader.header.keyReference.accountKeyVersion
        return version != accountKey.reference.accountKeyVersion && (migrating?.contains(version) ?? true)
    }

    /// Whether a seal under `accountKey` reproduces the header flags `reader`
    /// saw: a block list's flag and the infrastructure layer (every seal adds
    /// it when the account has one) are; a customer-provided key's content
    /// is not (the key is the client's).
    static func canReseal(_ reader: ObjectReader, accountKey: AccountKey) -> Bool {
        let reproducible: ObjectHeader.Flags = accountKey.infrastructure == nil ? .manifest : [.manifest, .infrastructure]
        return reader.header.flags.subtracting(reproducible).isEmpty
    }

    /// A block (opened, `reader` on it) read and staged again under
    /// `accountKey`'s current version, as a new staging of its id; the old
    /// file stays (the caller drops it once nothing names it). Returns its
    /// manifest entry.
    func restageBlock(_ block: StoredObject, _ reader: ObjectReader, id: BackendContainer, account: String, container: String, name: String,
                      blockID: [UInt8], accountKey: AccountKey) async throws -> BlockManifest.Entry {
        let blockIdentity = ObjectIdentity(account: account, container: container, kind: .block)
        let data = try await block.readAll(reader)
        let sealed = try data.withUnsafeBytes { plain in
            try ObjectSealing.seal(whole: plain, metadata: reader.metadata, identity: blockIdentity, accountKey: accountKey, expectedHash: nil)
        }
        let staged = try stagedName(id, try stagedPrefix(container, name, blockID, accountKey))
        try await write(sealed.buffer, to: staged, condition: .mustNotExist)
        let moved = try ObjectReader(source: BufferSource(sealed.buffer.bytes), accountKey: accountKey, context: blockIdentity.context)
        return .init(blockID: blockID, length: reader.length, headerHash: try SHA256.hash(moved.cipher.fixedHeader),
                     contentHash: reader.metadata.contentHash, file: staged.object)
    }

    /// Deletes `files` of container `id` (best effort: garbage either way).
    func removeFiles(_ files: [String], id: BackendContainer) async {
        let backend = self.backend
        await withTaskGroup(of: Void.self) { group in
            for file in files {
                guard let name = try? BackendName(id, file) else { continue }
                group.addTask { try? await backend.delete(name, condition: .none) }
            }
        }
    }

    /// The latest staging whose name starts with `prefix` (nil: none).
    func latestStaging(_ id: BackendContainer, _ prefix: String) async throws -> BackendName? {
        try await allNames(in: id, prefix: prefix).max().map { try BackendName(id, $0) }
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
    /// `BackendObject`) before the first byte goes to `destination`, so a commit
    /// that replaces the block list meanwhile cannot pull one out from under
    /// the read; if one is already gone, nothing was emitted and the caller
    /// reads the new block list instead (`VersionGone`).
    func readBlocks(_ manifest: BlockManifest, range: Range<UInt64>, id: BackendContainer, objectHash: String, name: String,
                    identity: ObjectIdentity, accountKey: AccountKey, to destination: PlaintextDestination) async throws {
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
            try await block.object.read(reader, range: lo..<hi, to: destination.slice((block.start + lo)..<(block.start + hi), of: range))
        }
    }

    /// Removes block files (`s-`, and `b-` of earlier releases) no current
    /// manifest names (stagings never committed or superseded by a later
    /// staging of their id, blocks of a replaced list whose removal a crash
    /// or a lost race skipped) once they were staged more than
    /// `retentionSeconds` ago (a block's age is its sealed
    /// creation time: the backend keeps no clock of its own). Returns the count.
    @discardableResult
    public func collectGarbage(account: String, container: String, retentionSeconds: Int, accountKey: AccountKey) async throws -> Int {
        let id = try await existingContainer(account, container, accountKey)
        let names = try await allNames(in: id)
        var live = Set<String>()
        for name in names where name.hasPrefix("o-") {
            // A block list that cannot be read makes the run stop: its blocks
            // would look unnamed and be removed. One deleted meanwhile names nothing.
            let current: (manifest: BlockManifest, version: BackendVersion)?
            do {
                current = try await committedManifest(try BackendName(id, name), account: account, container: container, accountKey: accountKey)
            } catch let error as StorageError where error.code == .notFound {
                continue
            } catch {
                throw StorageError((error as? StorageError)?.code ?? .io, "block garbage collection of container '\(container)' stopped: object \(name) cannot be read (\(error)); "
                                   + "no block file was removed")
            }
            if let current { live.formUnion(current.manifest.blockFileNames(objectHash: String(name.dropFirst(2)))) }
        }
        let cutoff = Self.nowMillis() - Int64(retentionSeconds) * 1000
        let blockContext = ObjectIdentity(account: account, container: container, kind: .block).context
        var removed = 0
        for name in names where (name.hasPrefix("s-") || name.hasPrefix("b-")) && !live.contains(name) {
            let backendName = try BackendName(id, name)
            guard let object = try? await StoredObject.open(backend, backendName) else { continue }
            do {
                let reader = try await object.reader(accountKey: accountKey, context: blockContext)
                guard reader.metadata.creationTime <= cutoff else { continue }
            } catch let error as StorageError where error.code == .wrongKey {
                // Under a retired version: no commit can use it any more, whatever its age.
            } catch {
                continue
            }
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

/// The (millisecond, sequence) stamps of stagings made by this process:
/// strictly increasing even when the wall clock stands still or steps back.
final class StageClock: Sendable {
    static let shared = StageClock()
    private let last = Mutex<(millis: UInt64, sequence: UInt64)>((0, 0))

    func next(now: Int64) -> (millis: UInt64, sequence: UInt64) {
        last.withLock { last in
            let now = UInt64(max(0, now))
            if now > last.millis {
                last = (now, 0)
            } else if last.sequence < 0xffff {
                last.sequence += 1
            } else {
                last = (last.millis + 1, 0)  // 65,536 stagings in one ms: borrow the next one
            }
            return last
        }
    }
}
