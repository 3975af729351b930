import AtRestCrypto

/// Extents (docs/FORMAT.md "Extents"): a run of at least
/// `Geometry.extentChunks` whole chunks written by one call is sealed once
/// as a backend object, in the object format of blobs, and each chunk
/// record of the run holds a short *reference* to it (its id) instead of
/// the chunk's bytes. A 1 MiB disk write is then two extents (aligned
/// batches of 128 chunks), each one HKDF, one GCM pass and one O_DIRECT (or
/// `write_full`) object put, plus a batch of short records, where it was
/// 256 sealed 4 KiB records in the record map.
///
/// - An extent is never written again: an overwrite writes new extents or
///   chunk records. Its key comes from a salt drawn for it alone, so no
///   (key, nonce) pair repeats (FORMAT.md "Why no (key, nonce) pair ever
///   repeats" with one key per extent).
/// - Its references are written in one batch with its *marker*, the record
///   `x-<first chunk>-<extent id>` of the same region map, which holds a bit per chunk
///   still referring to it (`Marker`); nothing ever adds a reference
///   later. A batch that replaces references clears their bits in the
///   same batch (`markerChanges`), so the bits are exactly the chunks that
///   refer to the extent; the batch that clears the last removes the
///   marker and the object goes after it. Deleting a region map kills
///   exactly the extents its markers name (`deleteMaps`).
/// - A batch that leaves an extent with at most half of its chunks live
///   (a write's or a clear's) moves those out as chunk records and
///   deletes it (`moveOut`), so an extent normally holds at most twice its
///   live bytes.
/// - Extents never span regions (a write batch is one region's), so an
///   extent's references and its marker are in one map.
extension ChunkedData {
    /// What a chunk record holds: the chunk's bytes, or a reference to an
    /// extent (its id; the extent's object is in the chunk's region).
    enum Stored: Sendable {
        case bytes([UInt8])
        case extent([UInt8])
    }

    /// A chunk's reference to an extent, stored as it is (not sealed):
    /// u8 0xE0 ‖ u8 version 1 ‖ 16 extent id. Told from a sealed chunk by
    /// its first byte (a `SealedRecord` starts with 1 or 2). Why it needs no
    /// seal: docs/FORMAT.md "Extents" ("Binding").
    enum Reference {
        static let tag: UInt8 = 0xE0, version: UInt8 = 1
        static let length = 2 + Extent.idLength

        static func encode(_ id: [UInt8]) -> [UInt8] { [tag, version] + id }

        /// The extent id; nil when `value` is no reference (a sealed record).
        static func decode(_ value: [UInt8]) throws -> [UInt8]? {
            guard value.first == tag else { return nil }
            guard value.count == length, value[1] == version else {
                throw StorageError.integrity("a chunk record starts as an extent reference but is not one (\(value.count) bytes)")
            }
            return Array(value[2...])
        }
    }

    /// An extent as its marker and its own metadata name it: its random id
    /// and the chunks it holds, `first ..< first + count`.
    struct Extent: Sendable, Hashable {
        /// 16 bytes: the milliseconds since the epoch when it was made (6,
        /// big-endian: the collector judges age without reading it) and 10 random bytes.
        var id: [UInt8]
        var first: UInt64
        var count: UInt64

        static let idLength = 16
        /// u8 tag ‖ 16 id ‖ u64 first ‖ u32 count.
        static let encodedLength = 1 + idLength + 8 + 4
        /// The tag of an extent's marker (the first byte of its plaintext).
        static let markerTag: UInt8 = 2

        var chunks: Range<UInt64> { first..<first + count }
        var hexID: String { Hex.encode(id) }
        var millis: UInt64 { id.prefix(6).reduce(0) { $0 << 8 | UInt64($1) } }
        /// The name sealed in the extent's metadata (checked on every open).
        var label: String { "\(hexID) \(first) \(count)" }

        static func make(first: UInt64, count: UInt64, now: Int64) throws -> Extent {
            let millis = UInt64(max(0, now))
            let time = (0..<6).map { UInt8(truncatingIfNeeded: millis >> (8 * (5 - $0))) }
            return Extent(id: time + (try SecureRandom.bytes(idLength - 6)), first: first, count: count)
        }

        func encoded(tag: UInt8) -> [UInt8] {
            var w = ByteWriter()
            w.raw([tag])
            w.raw(id)
            w.u64(first)
            w.u32(UInt32(count))
            return w.bytes
        }

        /// The first part of a marker's plaintext; nil when it is none.
        init?(decoding bytes: [UInt8], tag: UInt8) {
            guard bytes.count == Self.encodedLength, bytes[0] == tag else { return nil }
            id = Array(bytes[1...Self.idLength])
            first = bytes[(1 + Self.idLength)..<(9 + Self.idLength)].reduce(0) { $0 << 8 | UInt64($1) }
            count = UInt64(bytes[(9 + Self.idLength)...].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
            guard count > 0, first <= UInt64.max - count else { return nil }
        }

        init(id: [UInt8], first: UInt64, count: UInt64) {
            self.id = id
            self.first = first
            self.count = count
        }
    }

    /// An extent's marker: the extent and which of its chunks still refer
    /// to it (bit i of `live`, LSB first, for chunk first + i). A batch that
    /// replaces a chunk referring to the extent clears its bit in the same
    /// batch, conditional on the marker read; the batch that clears the last
    /// one removes the marker, and the extent object goes once it has landed.
    struct Marker: Sendable, Equatable {
        var extent: Extent
        var live: [UInt8]

        /// Every chunk live: how the batch that writes the extent marks it.
        init(allOf extent: Extent) {
            self.extent = extent
            live = [UInt8](repeating: 0, count: Int((extent.count + 7) / 8))
            for i in 0..<Int(extent.count) { live[i / 8] |= 1 << UInt8(i % 8) }
        }

        /// No chunk live: the *tombstone* the orphan collector leaves at the
        /// marker key of an extent it condemned (`collectOrphans`). It stays:
        /// the batch that wrote the extent, should it ever arrive, is
        /// conditional on that key being absent.
        init(noneOf extent: Extent) {
            self.extent = extent
            live = [UInt8](repeating: 0, count: Int((extent.count + 7) / 8))
        }

        /// u8 tag 2 ‖ 16 id ‖ u64 first ‖ u32 count ‖ ceil(count / 8) bytes of bits; nil otherwise.
        init?(decoding bytes: [UInt8]) {
            guard bytes.count > Extent.encodedLength,
                  let extent = Extent(decoding: Array(bytes.prefix(Extent.encodedLength)), tag: Extent.markerTag),
                  bytes.count == Extent.encodedLength + Int((extent.count + 7) / 8) else { return nil }
            self.extent = extent
            live = Array(bytes[Extent.encodedLength...])
            // Bits past the count are never set.
            let used = Int(extent.count % 8)
            if used != 0, live[live.count - 1] >> UInt8(used) != 0 { return nil }
        }

        var encoded: [UInt8] { extent.encoded(tag: Extent.markerTag) + live }

        func isLive(_ chunk: UInt64) -> Bool {
            guard extent.chunks.contains(chunk) else { return false }
            let i = Int(chunk - extent.first)
            return live[i / 8] & (1 << UInt8(i % 8)) != 0
        }

        mutating func clear(_ chunk: UInt64) {
            guard extent.chunks.contains(chunk) else { return }
            let i = Int(chunk - extent.first)
            live[i / 8] &= ~(1 << UInt8(i % 8))
        }

        var isDead: Bool { live.allSatisfy { $0 == 0 } }

        /// At most half of the extent's chunks still refer to it (`moveOut`).
        var isSparse: Bool { 2 * live.reduce(0) { $0 + $1.nonzeroBitCount } <= Int(extent.count) }
    }

    // MARK: Names

    /// The backend container of every extent of an account: `<namespace>/x`.
    @inline(never)
    func extentContainer() throws -> BackendContainer {
        try BackendContainer("\(container.id)/x")
    }

    /// What every extent object of this object's data starts with: `<map prefix>x-<hex id>-`.
    var extentPrefix: String { "\(geometry.mapPrefix)x-\(hexID)-" }

    /// An extent's object: `<map prefix>x-<hex id>-<region, 4 hex>-<extent id, 32 hex>`.
    @inline(never)
    func extentName(id: [UInt8], region: UInt64) throws -> BackendName {
        try BackendName(try extentContainer(), "\(extentPrefix)\(Hex.fixedWidth(region, digits: 4))-\(Hex.encode(id))")
    }

    func extentName(_ extent: Extent) throws -> BackendName {
        try extentName(id: extent.id, region: extent.first / geometry.chunksPerRegion)
    }

    /// The (region, extent id) an extent object's name holds; nil for another name.
    func extentParts(ofName name: String) -> (region: UInt64, id: [UInt8])? {
        guard name.hasPrefix(extentPrefix) else { return nil }
        let rest = name.dropFirst(extentPrefix.count).split(separator: "-", omittingEmptySubsequences: false)
        guard rest.count == 2, rest[0].utf8.count == 4, rest[1].utf8.count == 2 * Extent.idLength,
              let region = UInt64(rest[0], radix: 16), Hex.fixedWidth(region, digits: 4) == rest[0],
              let id = Hex.decode(String(rest[1])), Hex.encode(id) == rest[1] else { return nil }
        return (region, id)
    }

    /// An extent's marker record key in its region map: `x-<first chunk, 10
    /// hex>-<extent id, 32 hex>` (after every chunk key: those are hex
    /// digits; in the order of the extents' first chunks, so the markers of
    /// the extents that can hold a chunk are one range: an extent lies
    /// within one aligned write batch).
    static func markerKey(_ extent: Extent) -> String { "x-\(chunkKey(extent.first))-\(extent.hexID)" }

    /// The first chunk and extent id a marker key names; nil for another key.
    static func markerParts(ofKey key: String) -> (first: UInt64, id: [UInt8])? {
        guard key.utf8.count == 2 + 10 + 1 + 2 * Extent.idLength, key.hasPrefix("x-") else { return nil }
        let parts = key.dropFirst(2).split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let first = chunkIndex(ofKey: String(parts[0])), let id = Hex.decode(String(parts[1])),
              markerKey(Extent(id: id, first: first, count: 1)) == key else { return nil }
        return (first, id)
    }

    /// The extent id a marker key names; nil for another key.
    static func markerID(ofKey key: String) -> [UInt8]? { markerParts(ofKey: key)?.id }

    /// The markers (key → sealed value) of the extents that can hold chunks
    /// `chunks` (a write batch's, within one aligned batch): those whose first
    /// chunk lies from the batch's start to the last of `chunks`.
    func markersNear(_ chunks: ClosedRange<UInt64>, _ map: RecordMapName) async throws -> [String: [UInt8]] {
        var found: [String: [UInt8]] = [:]
        var after = "x-" + Self.chunkKey(chunks.lowerBound / Self.writeBatch * Self.writeBatch)
        while true {
            let page: RecordPage
            do {
                page = try await backend.records(map, after: after, limit: 4)
            } catch let error as StorageError where error.code == .notFound {
                return found
            }
            for record in page.records {
                guard let (first, _) = Self.markerParts(ofKey: record.key), first <= chunks.upperBound else { return found }
                found[record.key] = record.value
            }
            guard page.more, let last = page.records.last?.key else { return found }
            after = last
        }
    }

    /// The seal identity of this object's extents; an extent's own metadata names its id and chunks.
    var extentIdentity: ObjectIdentity {
        ObjectIdentity(account: account, container: "\(geometry.context)/\(hexID)", kind: .extent)
    }

    // MARK: Records

    /// A stored chunk record: the chunk's bytes (opened; `.integrityFailure`
    /// as `open`) or a reference.
    func stored(_ value: [UInt8], _ map: RecordMapName, _ key: String) throws -> Stored {
        if let id = try Reference.decode(value) { return .extent(id) }
        return .bytes(try open(value, map, key))
    }

    /// A marker record opened, or `.integrityFailure`.
    func marker(_ sealed: [UInt8], _ map: RecordMapName, _ key: String) throws -> Marker {
        let plaintext = try SealedRecord.open(sealed, context: context(key), map: map, key: key, accountKey: accountKey)
        guard let marker = Marker(decoding: plaintext), Self.markerKey(marker.extent) == key,
              marker.extent.count <= geometry.chunksPerRegion,
              marker.extent.first / geometry.chunksPerRegion == (marker.extent.first + marker.extent.count - 1) / geometry.chunksPerRegion else {
            throw StorageError.integrity("record \(key) of \(map) is not the marker of its extent")
        }
        return marker
    }

    /// Adds to `batch` the changes of `markers` (read with the batch's
    /// chunks, `markersNear`) for the chunks in `replaced` (whose records
    /// the batch replaces, so none of them refers to any extent after it):
    /// their bits cleared, conditional on the marker read; a marker left with
    /// no bit removed, its extent returned (delete it once the batch has
    /// landed), and the extents left with at most half their chunks live
    /// (`sparse`: move those chunks out once the batch has landed,
    /// `moveOut`). Markers with no bit among them are left alone. Markers
    /// that do not fit the batch stay as they are: their extents are then
    /// kept too long, never too short.
    func markerChanges(_ replaced: Set<UInt64>, _ markers: [String: [UInt8]], into batch: inout RecordBatch,
                       _ map: RecordMapName) throws -> (dead: [Extent], sparse: [Extent]) {
        var dead: [Extent] = [], sparse: [Extent] = []
        for (key, sealed) in markers {
            guard batch.sets.count + batch.removes.count < RecordBatch.maxChanges else { break }
            var marker = try marker(sealed, map, key)
            let before = marker
            for chunk in marker.extent.chunks where replaced.contains(chunk) { marker.clear(chunk) }
            guard marker != before else { continue }
            batch.conditions.append(.equals(key, sealed))
            if marker.isDead {
                batch.removes.append(key)
                dead.append(marker.extent)
            } else {
                batch.sets[key] = try seal(marker.encoded, map, key)
                if marker.isSparse { sparse.append(marker.extent) }
            }
        }
        return (dead, sparse)
    }

    /// Moves the chunks that still refer to `extent` (one of `map`'s) out of
    /// it, as chunk records, and deletes it, when at most half of its chunks
    /// still refer to it: a mostly rewritten extent would otherwise keep its
    /// dead bytes until its last chunk is rewritten. One batch, conditional
    /// on the marker and on every moved chunk still being a reference to it;
    /// it removes the marker (bits left set for chunks that no longer refer
    /// to it, which a lost race can leave, go with it). Best effort: a
    /// racing writer (a failed condition) or an error leaves all as it was,
    /// and the next batch or clear that clears one of its bits tries again.
    func moveOut(_ extent: Extent, _ map: RecordMapName) async {
        do {
            let markerKey = Self.markerKey(extent), reference = Reference.encode(extent.id)
            let found = try await backend.records(map, keys: [markerKey] + extent.chunks.map(Self.chunkKey))
            guard let sealedMarker = found[markerKey] else { return }  // dead, or moved out already
            let marker = try marker(sealedMarker, map, markerKey)
            let live = extent.chunks.filter { marker.isLive($0) && found[Self.chunkKey($0)] == reference }
            guard 2 * live.count <= Int(extent.count) else { return }
            var batch = RecordBatch(conditions: [.equals(markerKey, sealedMarker)], removes: [markerKey])
            let size = Int(geometry.chunkSize)
            for run in Self.runs(live) {
                let bytes = try await readExtent(extent.id, chunks: run)
                for (i, chunk) in run.enumerated() {
                    let key = Self.chunkKey(chunk)
                    batch.conditions.append(.equals(key, reference))
                    batch.sets[key] = try seal(Array(bytes[i * size..<(i + 1) * size]), map, key)
                }
            }
            try await backend.apply(batch, to: map)
            try await deleteObject(try extentName(extent))
        } catch {
            // Left as it was (or, the batch landed and the delete failed: the object is left behind, FORMAT.md "Extents").
        }
    }

    /// `chunks` (ascending) as runs of neighbours.
    static func runs(_ chunks: [UInt64]) -> [Range<UInt64>] {
        var runs: [Range<UInt64>] = []
        for chunk in chunks {
            if let last = runs.last, last.upperBound == chunk {
                runs[runs.count - 1] = last.lowerBound..<chunk + 1
            } else {
                runs.append(chunk..<chunk + 1)
            }
        }
        return runs
    }

    // MARK: Objects

    /// Seals `bytes` (`extent.count` whole chunks) as the extent and stores
    /// it, durable on return; creates the account's extent container on first use.
    func writeExtent(_ extent: Extent, _ bytes: ArraySlice<UInt8>) async throws {
        let metadata = ObjectMetadata(name: extent.label, length: UInt64(bytes.count), creationTime: Int64(extent.millis))
        let sealed = try bytes.withUnsafeBytes {
            try ObjectSealing.seal(whole: $0, metadata: metadata, identity: extentIdentity, accountKey: accountKey, expectedHash: nil,
                                   segmentSize: Int(geometry.chunkSize))
        }
        try await put(sealed.buffer, as: try extentName(extent), condition: .mustNotExist)
    }

    /// One backend put of a sealed extent; the container is made when missing.
    func put(_ buffer: AlignedBuffer, as name: BackendName, condition: WriteCondition) async throws {
        do {
            try await backend.put(name, buffer, condition: condition)
        } catch let error as StorageError where error.code == .containerNotFound {
            _ = try await StorageError.succeeds(unless: .alreadyExists) { try await self.backend.createContainer(name.container) }
            try await backend.put(name, buffer, condition: condition)
        }
    }

    /// Extent `id` of region `region` opened: its sealed metadata names the
    /// extent (id, first chunk, count) and must name this id, lie within the
    /// region and match the object's length, so an extent copied under
    /// another name fails here.
    func openExtent(_ id: [UInt8], region: UInt64) async throws -> (extent: Extent, object: StoredObject, reader: ObjectReader) {
        let perRegion = geometry.chunksPerRegion, hexExtent = Hex.encode(id)
        // Its header and metadata take a few hundred bytes: a 4 KiB chunk read needs no more of the head.
        let object = try await StoredObject.open(backend, try extentName(id: id, region: region), headBytes: 4096)
        let reader = try await object.reader(accountKey: accountKey, context: extentIdentity.context)
        let parts = reader.metadata.name.split(separator: " ")
        guard parts.count == 3, parts[0] == hexExtent, let first = UInt64(parts[1]), let count = UInt64(parts[2]),
              count > 0, count <= perRegion, first / perRegion == region, (first + count - 1) / perRegion == region,
              reader.length == count * geometry.chunkSize else {
            throw StorageError.integrity("extent \(hexExtent) of \(hexID) holds another extent")
        }
        return (Extent(id: id, first: first, count: count), object, reader)
    }

    /// The plaintext of `chunks` (of one region) from extent `id`, which must hold them.
    func readExtent(_ id: [UInt8], chunks: Range<UInt64>) async throws -> [UInt8] {
        let (extent, object, reader) = try await openExtent(id, holding: chunks)
        let size = geometry.chunkSize
        var out = [UInt8]()
        out.reserveCapacity(Int(UInt64(chunks.count) * size))
        try await object.read(reader, range: (chunks.lowerBound - extent.first) * size..<(chunks.upperBound - extent.first) * size) {
            out.append(contentsOf: $0)
        }
        return out
    }

    /// The bytes at `range` of the data (within one region's chunks that
    /// extent `id` must hold) decrypted straight into `destination`
    /// (`range.count` bytes: a reply frame's part, no copy after the cipher).
    func readExtent(_ id: [UInt8], bytes range: Range<UInt64>, into destination: UnsafeMutableRawBufferPointer) async throws {
        let size = geometry.chunkSize
        let (extent, object, reader) = try await openExtent(id, holding: range.lowerBound / size..<(range.upperBound - 1) / size + 1)
        let base = extent.first * size
        try await object.read(reader, range: range.lowerBound - base..<range.upperBound - base, to: .buffer(destination))
    }

    /// Extent `id` opened, checked to hold `chunks` (of one region).
    private func openExtent(_ id: [UInt8], holding chunks: Range<UInt64>) async throws -> (Extent, StoredObject, ObjectReader) {
        let (extent, object, reader) = try await openExtent(id, region: chunks.lowerBound / geometry.chunksPerRegion)
        guard extent.chunks.lowerBound <= chunks.lowerBound, chunks.upperBound <= extent.chunks.upperBound else {
            throw StorageError.integrity("chunks \(chunks) refer to extent \(extent.hexID), which holds \(extent.chunks)")
        }
        return (extent, object, reader)
    }

    /// Deletes an extent object (one already gone is fine).
    func deleteObject(_ name: BackendName) async throws {
        _ = try await StorageError.succeeds(unless: .notFound) { try await self.backend.delete(name, condition: .none) }
    }

    /// Deletes the objects of `extents` (dead: their markers are gone);
    /// best effort, a failure leaves the object to the object's delete.
    func deleteObjects(_ extents: [Extent]) async {
        for extent in extents { try? await deleteObject(try extentName(extent)) }
    }

    /// Clears, in the markers of `map` read now, the bits of the chunks in
    /// `chunks` (whose records a clear has just removed: none of them refers
    /// to any of these extents any more), conditional on each marker read
    /// and again on a lost race; removes the markers left with no bit and
    /// deletes their extents, and moves out those left at most half live
    /// (`moveOut`). `keys`: the markers to look at (listed before
    /// the records were removed, so no extent made since is among them).
    func clearBits(_ keys: [String], _ chunks: Range<UInt64>, in map: RecordMapName) async throws {
        for key in keys {
            for _ in 0..<16 {
                let found: [String: [UInt8]]
                do { found = try await backend.records(map, keys: [key]) } catch let error as StorageError where error.code == .notFound { return }
                guard let sealed = found[key] else { break }
                var marker = try marker(sealed, map, key)
                guard !marker.isDead else { break }  // a tombstone (`collectOrphans`) stays
                for chunk in marker.extent.chunks.clamped(to: chunks) { marker.clear(chunk) }
                let dead = marker.isDead
                let batch = RecordBatch(conditions: [.equals(key, sealed)], sets: dead ? [:] : [key: try seal(marker.encoded, map, key)],
                                        removes: dead ? [key] : [])
                do {
                    try await backend.apply(batch, to: map)
                } catch let error as StorageError where error.code == .conditionFailed {
                    continue
                } catch let error as StorageError where error.code == .notFound {
                    return
                }
                if dead { await deleteObjects([marker.extent]) } else if marker.isSparse { await moveOut(marker.extent, map) }
                break
            }
        }
    }

    /// The keys of the markers in `map`.
    func markerKeys(_ map: RecordMapName) async throws -> [String] {
        var keys: [String] = []
        var after = "x-"
        while true {
            let page: (keys: [String], more: Bool)
            do {
                page = try await backend.recordKeys(map, after: after, limit: 1000)
            } catch let error as StorageError where error.code == .notFound {
                return keys
            }
            keys += page.keys.filter { Self.markerParts(ofKey: $0) != nil }
            guard page.more, let last = page.keys.last else { return keys }
            after = last
        }
    }

    /// The extents whose markers are in `map` (ids only: the names need no more).
    func markedExtents(_ map: RecordMapName) async throws -> [[UInt8]] {
        try await markerKeys(map).compactMap(Self.markerID(ofKey:))
    }

    /// The markers in `map`, opened.
    func markers(_ map: RecordMapName) async throws -> [Marker] {
        let keys = try await markerKeys(map)
        guard !keys.isEmpty else { return [] }
        var markers: [Marker] = []
        for start in stride(from: 0, to: keys.count, by: RecordBatch.maxChanges) {
            let found: [String: [UInt8]]
            do {
                found = try await backend.records(map, keys: Array(keys[start..<min(keys.count, start + RecordBatch.maxChanges)]))
            } catch let error as StorageError where error.code == .notFound {
                return markers
            }
            for (key, value) in found { markers.append(try marker(value, map, key)) }
        }
        return markers
    }

    /// Every extent object of this object's data (by name), for a delete of the whole object.
    func extentObjects() async throws -> [String] {
        var names: [String] = []
        var continuation: String?
        let container = try extentContainer()
        repeat {
            let page: BackendListPage
            do {
                page = try await backend.list(container, prefix: extentPrefix, continuation: continuation, limit: 1000)
            } catch let error as StorageError where error.code == .containerNotFound {
                return names
            }
            names += page.names
            continuation = page.continuation
        } while continuation != nil
        return names
    }

    /// Re-encryption (`RecordReencryption`): the extent sealed again under
    /// the current account key version when it is under one of `migrating`
    /// (nil: any other), same plaintext, same name and metadata, a new salt;
    /// the replace is conditional on the version read. Counted into `page`
    /// (an extent deleted meanwhile counts as nothing: no chunk refers to it).
    func resealExtent(_ extent: Extent, migrating: Set<UInt32>?, _ page: inout ReencryptPage) async throws {
        let object: StoredObject, reader: ObjectReader
        do {
            (_, object, reader) = try await openExtent(extent.id, region: extent.first / geometry.chunksPerRegion)
        } catch let error as StorageError where error.code == .notFound {
            return
        }
        page.objects += 1
        guard ObjectStore.isMigrating(reader, migrating, accountKey) else { return }
        guard ObjectStore.canReseal(reader, accountKey: accountKey) else {
            page.skipped += 1
            return
        }
        let plaintext: [UInt8]
        do {
            plaintext = try await object.readAll(reader)
        } catch is ObjectStore.VersionGone {
            page.raced += 1
            return
        }
        let metadata = ObjectMetadata(name: extent.label, length: UInt64(plaintext.count), creationTime: reader.metadata.creationTime)
        let sealed = try plaintext.withUnsafeBytes {
            try ObjectSealing.seal(whole: $0, metadata: metadata, identity: extentIdentity, accountKey: accountKey, expectedHash: nil,
                                   segmentSize: Int(geometry.chunkSize))
        }
        do {
            try await put(sealed.buffer, as: try extentName(extent), condition: .mustMatch(object.version))
        } catch let error as StorageError where error.code == .conditionFailed || error.code == .notFound {
            page.raced += 1
            return
        }
        page.rewritten += 1
        page.bytes += UInt64(plaintext.count)
    }
}
