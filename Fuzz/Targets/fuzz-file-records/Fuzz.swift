// Fuzz target: the records of file shares and of the chunk engine (docs/FORMAT.md
// "Files", "File data chunks", "Disks (mutable objects)"), all read back from
// storage someone may have altered: the share record, the tree's inode
// (`n-`), entry (`e-`), usage (`u`) and tombstone (`z-`) records, sealed and
// in clear, the chunk records of region maps (sealed chunks, chunk keys), and
// the paths a client sends. Byte 0 picks the mode; the rest is the input.
//
// Calls only the records' decode/encode API, so a change of the formats
// (e.g. version-2 inode records) needs no change here beyond new seeds:
// `InodeRecord(decoding:)`, `EntryRecord(decoding:)`, `UsageRecord(decoding:)`,
// `Tombstone(decoding:)`, `ShareRecord(decoding:)` and their `encoded`;
// `InodeRecord.info(_:)`; `FileStore.open/seal` (the tree's seal contexts),
// `FileStore.node(_:_:_:_:)` (the root check), `FileStore.shareContext`;
// `ChunkedData.open/seal/map/check/stored`, `ChunkedData.chunkKey`,
// `ChunkedData.Reference.decode`, `ChunkedData.Extent(decoding:tag:)`, `ChunkedData.Marker(decoding:)`, `markerParts(ofKey:)`, `extentParts(ofName:)`,
// `ChunkedData.chunkIndex(ofKey:)`, `Geometry.addressableEnd/regions`;
// `FilePath(_:)`, `Hex.decode`.
//
// Invariants: only StorageError is thrown; a decoded record encodes without
// an error to bytes that decode to the same record and encode to the same
// bytes again (records without metadata: to the very bytes decoded); names
// keep their bytes; an opened chunk is exactly one chunk long; a sealed chunk
// opens at its own index and not at another index, region or object; a
// chunk key parses only in the form `chunkKey` writes; the range check
// agrees with the arithmetic; a parsed path prints and parses back equal.
import AtRestCrypto
import CFuzzDriver
import Dispatch
import Glibc
@testable import AtRestStorage

let account = "fuzz"
let accountKey = try! AccountKey(key: SecretBytes([UInt8](repeating: 0x42, count: 32)),
                                 reference: KeyReference(provider: "managed", keyID: "fuzz", keyVersion: 1, accountKeyVersion: 1))
let container = try! accountKey.accountContainer(account)
/// The store and chunk engine need a backend; nothing here reads or writes
/// it: opened read-only on an empty directory, removed at once.
let scratch = "/dev/shm/atrest-fuzz-file-records-\(getpid())"
_ = mkdir(scratch, 0o700)
let store = FileStore(backend: try! LocalBackend(readingOnly: scratch))
_ = rmdir(scratch)
let shareDirectory = try! store.shareDirectory(account, accountKey)
/// Small file chunks (64 bytes, 16 per region) so that a sealed chunk fits a
/// fuzz input; the real file geometry's chunks are 64 KiB. Disks: the real one.
let smallFile = ChunkedData.Geometry(chunkSize: 64, chunksPerRegion: 16, mapPrefix: "fc", context: "file-chunk")
let dataID = [UInt8](repeating: 0x22, count: 16)

func chunks(_ geometry: ChunkedData.Geometry, _ id: [UInt8] = dataID) -> ChunkedData {
    ChunkedData(backend: store.backend, geometry: geometry, account: account, id: id, container: container, accountKey: accountKey) { _ in }
}

/// A share whose id is `id` (the tree's seal contexts name it).
func share(_ id: [UInt8]) throws -> FileStore.Share {
    let record = ShareRecord(id: id, quota: 1 << 30, creationTime: 0, name: "docs", metadata: [:])
    return FileStore.Share(account: account, name: "docs", record: record, sealed: [], container: container,
                           tree: try FileStore.treeMap(container, id))
}

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data, size > 0 else { return 0 }
    let rest = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    do {
        switch data[0] % 10 {
        case 0: try sealedTreeRecord(rest)
        case 1: try inode(rest)
        case 2: try entry(rest)
        case 3: try usage(rest)
        case 4: try tombstone(rest)
        case 5: try shareRecord(rest)
        case 6: try storedChunk(rest)
        case 7: try sealedChunk(rest)
        case 8: keysAndRanges(rest)
        default: try path(rest)
        }
    } catch is StorageError {
    } catch {
        fatalError("threw \(type(of: error)), not StorageError: \(error)")
    }
    return 0
}

/// decode, encode (must not throw: the decoder accepted it), decode again
/// (equal), encode again (the same bytes); `exact`: the encoding is the input.
@discardableResult
func roundTrip<R: Equatable>(_ bytes: [UInt8], _ what: String, exact: Bool, decode: ([UInt8]) throws -> R,
                             encode: (R) throws -> [UInt8]) throws -> R {
    let record = try decode(bytes)
    let encoded = mustNotThrow(what) { try encode(record) }
    if exact { check(encoded == bytes, "\(what) decodes from bytes it does not encode to") }
    let again = mustNotThrow(what) { try decode(encoded) }
    check(again == record, "\(what) does not round-trip")
    check(mustNotThrow(what) { try encode(again) } == encoded, "\(what) encoding is not stable")
    return record
}

func inode(_ bytes: [UInt8]) throws {
    let record = try roundTrip(bytes, "inode record", exact: false, decode: InodeRecord.init(decoding:)) { try $0.encoded }
    let info = record.info("name")
    check(info.kind == record.kind && info.size == record.size && info.mode == record.mode && info.metadata == record.metadata,
          "inode info differs from its record")
    check(record.parent.count == InodeRecord.idSize && record.dataID.count == InodeRecord.idSize, "inode ids are not 16 bytes")
}

func entry(_ bytes: [UInt8]) throws {
    let record = try roundTrip(bytes, "entry record", exact: true, decode: EntryRecord.init(decoding:)) { try $0.encoded }
    check(record.child.count == InodeRecord.idSize, "entry child id is not 16 bytes")
}

func usage(_ bytes: [UInt8]) throws {
    try roundTrip(bytes, "usage record", exact: true, decode: UsageRecord.init(decoding:)) { $0.encoded }
}

func tombstone(_ bytes: [UInt8]) throws {
    try roundTrip(bytes, "tombstone", exact: true, decode: Tombstone.init(decoding:)) { $0.encoded }
}

func shareRecord(_ bytes: [UInt8]) throws {
    let record = try roundTrip(bytes, "share record", exact: false, decode: ShareRecord.init(decoding:)) { try $0.encoded }
    let again = try ShareRecord(decoding: try record.encoded)
    check(Array(again.name.utf8) == Array(record.name.utf8), "share name changes its bytes")
    check(record.id.count == ShareRecord.idSize, "share id is not 16 bytes")
}

/// A stored tree or share record: 16 share id ‖ u8 n ‖ n bytes record key ‖
/// sealed value. Opened as the store opens the record kind its key names.
func sealedTreeRecord(_ bytes: [UInt8]) throws {
    var r = ByteReader(bytes)
    let s = try share(Array(try r.take(16)))
    let key = String(decoding: try r.take(Int(try r.u8())), as: UTF8.self)
    let sealed = Array(try r.take(r.remaining))
    if key.hasPrefix("n-") {
        guard let id = Hex.decode(String(key.dropFirst(2))), id.count == InodeRecord.idSize else { return }
        let node = try store.node(id, sealed, s, accountKey)
        try inode(try node.record.encoded)
        check(!node.isRoot || node.record.kind == .directory, "a root inode that is not a directory opened")
    } else if key.hasPrefix("e-") {
        try entry(try store.open(sealed, "file-entry", s, key, accountKey))
    } else if key == FileStore.usageKey {
        try usage(try store.open(sealed, "file-usage", s, key, accountKey))
    } else if key.hasPrefix(FileStore.tombstonePrefix) {
        try tombstone(try store.open(sealed, "file-tombstone", s, key, accountKey))
    } else {
        let plain = try SealedRecord.open(sealed, context: FileStore.shareContext(account), map: shareDirectory, key: key, accountKey: accountKey)
        try shareRecord(plain)
    }
}

/// A chunk as found in a region map: u8 geometry and u32 chunk index ‖ sealed value.
func storedChunk(_ bytes: [UInt8]) throws {
    var r = ByteReader(bytes)
    let geometry = try r.u8() & 1 == 0 ? smallFile : .disk
    let index = try chunkIndex(&r, geometry)
    let engine = chunks(geometry), key = ChunkedData.chunkKey(index)
    let sealed = Array(try r.take(r.remaining)), map = try engine.map(index / geometry.chunksPerRegion)
    // As a record that may be a reference into an extent ("Extents").
    switch try engine.stored(sealed, map, key) {
    case .bytes(let plain): check(plain.count == Int(geometry.chunkSize), "a stored chunk is not one chunk long")
    case .extent(let id): check(ChunkedData.Reference.encode(id) == sealed, "a reference does not encode back to its bytes")
    }
    if try ChunkedData.Reference.decode(sealed) != nil { return }
    let plain = try engine.open(sealed, map, key)
    check(plain.count == Int(geometry.chunkSize), "an opened chunk is not one chunk long")
}

/// A u32 chunk index within what the geometry addresses (callers check ranges
/// first: `ChunkedData.check`).
func chunkIndex(_ r: inout ByteReader, _ geometry: ChunkedData.Geometry) throws -> UInt64 {
    UInt64(try r.u32()) % (geometry.addressableEnd / geometry.chunkSize)
}

/// u8 geometry ‖ u32 chunk index ‖ plaintext (cut or zero-padded to a chunk):
/// sealed at its index, it opens there and nowhere else.
func sealedChunk(_ bytes: [UInt8]) throws {
    var r = ByteReader(bytes)
    let geometry = try r.u8() & 1 == 0 ? smallFile : .disk
    let index = try chunkIndex(&r, geometry)
    let size = Int(geometry.chunkSize)
    let plain = Array((Array(try r.take(min(r.remaining, size))) + [UInt8](repeating: 0, count: size)).prefix(size))
    let engine = chunks(geometry), key = ChunkedData.chunkKey(index), map = try engine.map(index / geometry.chunksPerRegion)
    let sealed = try engine.seal(plain, map, key)
    try check(engine.open(sealed, map, key) == plain, "a sealed chunk does not open to its bytes")
    let region = index / geometry.chunksPerRegion
    for (name, open) in [
        ("another index", { try engine.open(sealed, map, ChunkedData.chunkKey(index ^ 1)) }),
        ("another region", { try engine.open(sealed, try engine.map(region == 0 ? 1 : region - 1), key) }),
        ("another object", { try chunks(geometry, [UInt8](repeating: 0x33, count: 16)).open(sealed, map, key) }),
        ("a tree record's context", { try store.open(sealed, "file-inode", try share(dataID), key, accountKey) }),
    ] as [(String, () throws -> [UInt8])] {
        do {
            _ = try open()
            fatalError("a chunk opened at \(name)")
        } catch let error as StorageError {
            check(error.code == .integrityFailure, "a chunk at \(name) failed with \(error.code), not integrityFailure")
        }
    }
}

/// Record keys as listed from a region map or tree (text), and the range
/// arithmetic of both geometries (two u64).
func keysAndRanges(_ bytes: [UInt8]) {
    let text = String(decoding: bytes, as: UTF8.self)
    if let index = ChunkedData.chunkIndex(ofKey: text) {
        check(ChunkedData.chunkKey(index) == text, "chunk key '\(text)' parses as \(index) but \(index) is '\(ChunkedData.chunkKey(index))'")
    }
    if let decoded = Hex.decode(text) { check(Hex.encode(decoded) == text.lowercased(), "hex '\(text)' does not print back") }
    if let (first, id) = ChunkedData.markerParts(ofKey: text) {
        check(ChunkedData.markerKey(ChunkedData.Extent(id: id, first: first, count: 1)) == text, "marker key '\(text)' does not print back")
    }
    for geometry in [ChunkedData.Geometry.file, .disk] {
        let engine = chunks(geometry)
        if let (region, id) = engine.extentParts(ofName: text) {
            let name = try? engine.extentName(ChunkedData.Extent(id: id, first: region * geometry.chunksPerRegion, count: 1)).object
            check(name == text, "extent name '\(text)' does not print back")
        }
    }
    // An extent marker's plaintext: it decodes only to what encodes back to it.
    if let extent = ChunkedData.Extent(decoding: bytes, tag: ChunkedData.Extent.markerTag) {
        check(extent.encoded(tag: ChunkedData.Extent.markerTag) == bytes, "an extent marker's head does not encode back to its bytes")
    }
    if let marker = ChunkedData.Marker(decoding: bytes) {
        check(marker.encoded == bytes, "an extent marker does not encode back to its bytes")
        for chunk in marker.extent.chunks {
            var cleared = marker
            cleared.clear(chunk)
            check(!cleared.isLive(chunk) && (cleared == marker) == !marker.isLive(chunk), "a marker's bit does not clear")
        }
    }
    for index in [UInt64(0), 1, 0xff_ffff_ffff] { check(ChunkedData.chunkIndex(ofKey: ChunkedData.chunkKey(index)) == index, "chunk key of \(index)") }
    var r = ByteReader(bytes)
    guard let offset = try? r.u64(), let length = try? r.u64() else { return }
    for geometry in [ChunkedData.Geometry.file, .disk, smallFile] {
        let end = geometry.addressableEnd
        let fits = offset <= end && length <= end - offset
        do {
            try chunks(geometry).check(offset, length)
            check(fits, "range [\(offset), +\(length)) passed the check beyond \(end)")
            check(geometry.regions(offset + length) <= 1 << 16, "a range within the addressable end spans more regions than region names")
        } catch {
            check(!fits && (error as? StorageError)?.code == .invalidArgument, "range [\(offset), +\(length)) refused with \(error)")
        }
    }
}

/// A client's path: refused with invalidArgument, or components that each
/// pass the component rule and print back to the same path.
func path(_ bytes: [UInt8]) throws {
    guard let text = String(validating: bytes, as: UTF8.self) else { return }
    do {
        let path = try FilePath(text)
        check(text.utf8.count <= FileLimits.maxPathBytes, "a path over \(FileLimits.maxPathBytes) bytes parsed")
        for component in path.components { _ = mustNotThrow("component") { try FilePath.validate(component: component) } }
        check(mustNotThrow("path") { try FilePath(path.description) } == path, "a path does not print back to itself")
        check(path.parent.components.count == max(0, path.components.count - 1), "parent of a path")
    } catch let error as StorageError {
        check(error.code == .invalidArgument, "a path refused with \(error.code), not invalidArgument")
    }
}

func mustNotThrow<T>(_ what: String, _ body: () throws -> T) -> T {
    do {
        return try body()
    } catch {
        fatalError("\(what): threw \(error) on what the decoder accepted")
    }
}

/// An invariant: a failure stops the run with its message (`precondition`
/// prints none in -O builds); a throw from the condition is passed on.
func check(_ condition: @autoclosure () throws -> Bool, _ message: @autoclosure () -> String = "invariant broken") rethrows {
    if try !condition() { fatalError(message()) }
}

/// Seeds from a real share: a FileStore on a LocalBackend (a temporary
/// directory) makes a share with metadata, directories and files with data,
/// renames and deletes; every record of the share directory and the tree is
/// read back as stored (mode 0, sealed) and opened (modes 1-5, in clear).
/// Tombstones are finished by the delete that writes them, so the one seed
/// of each is made by the real encoder; chunks are sealed by the engine
/// (modes 6, 7: a real file's 64 KiB chunk is over the fuzz input limit).
func seeds() async throws -> [[UInt8]] {
    var template = Array("/tmp/atrest-fuzz-seeds-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else { fatalError("mkdtemp") }
    let directory = String(cString: made)
    defer { _ = system("rm -rf '\(directory)'") }
    let store = FileStore(backend: try LocalBackend(directory: directory))
    try await store.createShare(account: account, name: "docs", quota: 1 << 30, metadata: ["team": "a"], accountKey: accountKey)
    try await store.createDirectory(account: account, share: "docs", path: "reports", metadata: ["owner": "ann"], accountKey: accountKey)
    try await store.createFile(account: account, share: "docs", path: "reports/q1.txt", size: 100, accountKey: accountKey)
    try await store.writeFile(account: account, share: "docs", path: "reports/q1.txt", offset: 70_000, data: Array("hello".utf8),
                              accountKey: accountKey)
    try await store.createFile(account: account, share: "docs", path: "caf\u{e9}", mode: 0o600, accountKey: accountKey)
    try await store.rename(account: account, share: "docs", from: "caf\u{e9}", to: "reports/cafe\u{301}", accountKey: accountKey)
    try await store.createFile(account: account, share: "docs", path: "gone", accountKey: accountKey)
    try await store.deleteFile(account: account, share: "docs", path: "gone", accountKey: accountKey)
    let s = try await store.share(account, "docs", accountKey)
    var out: [[UInt8]] = []
    func stored(_ key: String, _ sealed: [UInt8]) -> [UInt8] { [0] + s.record.id + [UInt8(key.utf8.count)] + Array(key.utf8) + sealed }
    for record in try await store.backend.records(shareDirectory, after: nil, limit: 100).records {
        out.append(stored(record.key, record.value))
        out.append([5] + (try SealedRecord.open(record.value, context: FileStore.shareContext(account), map: shareDirectory, key: record.key,
                                                  accountKey: accountKey)))
    }
    for record in try await store.backend.records(s.tree, after: nil, limit: 100).records {
        out.append(stored(record.key, record.value))
        let (mode, what): (UInt8, String) = record.key.hasPrefix("n-") ? (1, "file-inode") : record.key.hasPrefix("e-") ? (2, "file-entry") : (3, "file-usage")
        out.append([mode] + (try store.open(record.value, what, s, record.key, accountKey)))
    }
    let tombstoneKey = FileStore.tombstoneKey(dataID), tombstone = Tombstone(size: 70_005).encoded
    out.append(stored(tombstoneKey, try store.seal(tombstone, "file-tombstone", s, tombstoneKey, accountKey)))
    out.append([4] + tombstone)
    for (selector, geometry, index) in [(UInt8(0), smallFile, UInt32(17)), (1, .disk, 3)] {
        let engine = chunks(geometry), key = ChunkedData.chunkKey(UInt64(index)), map = try engine.map(UInt64(index) / geometry.chunksPerRegion)
        let plain = (0..<Int(geometry.chunkSize)).map { UInt8(truncatingIfNeeded: $0) }
        let sealed = try engine.seal(plain, map, key)
        let where_ = [selector] + withUnsafeBytes(of: index.bigEndian) { Array($0) }
        out += [[6] + where_ + sealed, [7] + where_ + Array(plain.prefix(16))]
    }
    // An extent (FORMAT.md "Extents") written by the engine: a chunk's reference (mode 6), the
    // marker's key, plaintext and the extent's object name (mode 8).
    let extents = ChunkedData(backend: store.backend, geometry: ChunkedData.Geometry(chunkSize: 64, chunksPerRegion: 16, mapPrefix: "fc",
                                                                                   context: "file-chunk", extentChunks: 4),
                              account: account, id: dataID, container: container, accountKey: accountKey) { _ in }
    try await extents.write(at: 0, (0..<256).map { UInt8(truncatingIfNeeded: $0) })
    let extentMap = try extents.map(0)
    for record in try await store.backend.records(extentMap, after: nil, limit: 100).records {
        if let index = ChunkedData.chunkIndex(ofKey: record.key) {
            out.append([6, 0] + withUnsafeBytes(of: UInt32(index).bigEndian) { Array($0) } + record.value)
        } else {
            out.append([8] + Array(record.key.utf8))
            out.append([8] + (try extents.marker(record.value, extentMap, record.key).encoded))
        }
    }
    out += try await extents.extentObjects().map { [8] + Array($0.utf8) }
    out.append([8] + Array(ChunkedData.chunkKey(0x1_2345).utf8))
    out.append([8] + withUnsafeBytes(of: UInt64(4 << 40).bigEndian) { Array($0) } + withUnsafeBytes(of: UInt64(65_536).bigEndian) { Array($0) })
    out.append([8] + Array(FileStore.inodeKey(dataID).dropFirst(2).utf8))
    out += ["/reports/q1.txt", "reports/cafe\u{301}", "/", "a//b"].map { [9] + Array($0.utf8) }
    return out
}

/// Runs async code to its end from the synchronous entry point.
func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let result = Box<Result<T, any Error>>()
    let done = DispatchSemaphore(value: 0)
    Task {
        do { result.value = .success(try await body()) } catch { result.value = .failure(error) }
        done.signal()
    }
    done.wait()
    return try result.value!.get()
}

final class Box<T>: @unchecked Sendable { var value: T? }

// SwiftPM links this file's top-level code as `main` (libFuzzer's own main
// is dropped), so it hands the command line to libFuzzer's driver; with
// ATREST_FUZZ_SEEDS=<dir> it writes its seeds there instead (scripts/fuzz.sh --seeds).
if let directory = getenv("ATREST_FUZZ_SEEDS") {
    for (index, seed) in try! blocking({ try await seeds() }).enumerated() {
        guard let file = fopen(String(cString: directory) + "/seed-\(index)", "w"), fwrite(seed, 1, seed.count, file) == seed.count else {
            fatalError("cannot write seed \(index)")
        }
        fclose(file)
    }
    exit(0)
}
var argumentCount = CommandLine.argc
var argumentValues = Optional(CommandLine.unsafeArgv)
exit(LLVMFuzzerRunDriver(&argumentCount, &argumentValues, fuzzOne))
