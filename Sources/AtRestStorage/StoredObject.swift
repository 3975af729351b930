import AtRestCrypto

/// One version of a sealed object opened on a backend, decrypted on demand.
///
/// Opening reads the head (the header and metadata block, and the whole
/// object when it is small) in one backend read; `read(range:)` then fetches
/// only the sealed segments a range touches, in chunks of `chunkSegments`,
/// and decrypts each chunk from memory. The backend object pins
/// the version (`BackendObject`): reads never mix two versions.
final class StoredObject {
    let name: BackendName
    let object: any BackendObject
    /// The first bytes of the object (at least the whole header once a
    /// reader was made).
    private(set) var head: [UInt8]
    private let source: WindowSource

    /// Bytes read at open: the header of any object and all of a small one.
    static let headRead = 64 * 1024

    init(name: BackendName, object: any BackendObject, head: [UInt8]) {
        self.name = name
        self.object = object
        self.head = head
        source = WindowSource(size: object.info.size)
        source.add(at: 0, head)
    }

    /// Opens the current version of `name` (`.notFound` when absent).
    static func open(_ backend: any StorageBackend, _ name: BackendName) async throws -> StoredObject {
        let (object, head) = try await openParts(backend, name)
        return StoredObject(name: name, object: object, head: head)
    }

    /// `open`, but nil when there is no such object (`StorageBackend.openIfPresent`).
    static func openIfPresent(_ backend: any StorageBackend, _ name: BackendName) async throws -> StoredObject? {
        guard let object = try await backend.openIfPresent(name) else { return nil }
        return StoredObject(name: name, object: object, head: try await readHead(object))
    }

    /// What `open` reads, as Sendable parts (for opening many at once).
    static func openParts(_ backend: any StorageBackend, _ name: BackendName) async throws -> (object: any BackendObject, head: [UInt8]) {
        let object = try await backend.open(name)
        return (object, try await readHead(object))
    }

    /// The first `headRead` bytes: from memory without a thread hop when the
    /// backend has them there (`readCached`), else one backend read.
    static func readHead(_ object: any BackendObject) async throws -> [UInt8] {
        let count = Int(min(object.info.size, UInt64(headRead)))
        var cached = 0
        let head = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            cached = object.readCached(at: 0, into: UnsafeMutableRawBufferPointer(buffer))
            initialized = cached
        }
        return cached == count ? head : try await object.read(at: 0, count: count)
    }

    var version: BackendVersion { object.info.version }
    var size: UInt64 { object.info.size }

    /// Whether the clear preamble marks a committed block list (no key needed).
    var isManifest: Bool {
        guard head.count >= ObjectHeader.preambleSize else { return false }
        return ObjectHeader.Flags(rawValue: UInt16(head[6]) << 8 | UInt16(head[7])).contains(.manifest)
    }

    /// Checks the header, the key and the metadata (reading more of the head
    /// first when its metadata block is larger than the first read).
    func reader(accountKey: AccountKey, context: [UInt8]) async throws -> ObjectReader {
        let needed = try Self.headerLength(head, size: size)
        if needed > head.count {
            head = try await fetch(at: 0, count: needed)
            source.add(at: 0, head)
        }
        return try ObjectReader(source: source, accountKey: accountKey, context: context)
    }

    /// Streams the plaintext of `range` to `sink`, a chunk of sealed
    /// segments at a time: readahead of the whole span starts first
    /// (`prefetch`), each chunk is read into one reused buffer — from the
    /// page cache on this thread when it is there (`readCached`), else on the
    /// I/O queue — and decrypted while it is still in the CPU's cache. Every
    /// segment's tag is checked before any of its bytes go to `sink`.
    func read(_ reader: ObjectReader, range: Range<UInt64>, to sink: (UnsafeRawBufferPointer) throws -> Void) async throws {
        guard range.upperBound <= reader.length else {
            throw StorageError(.invalidArgument, "range \(range) is outside the object (length \(reader.length))")
        }
        if range.isEmpty { return }
        let buffers = ReadBuffers(segmentSize: reader.header.segmentSize, overhead: reader.cipher.overhead,
                                  chunkSegments: Self.chunkSegments)
        let whole = reader.sealedSpan(of: range)
        if source.covers(whole) {  // a small object: all in the head
            try reader.read(range: range, scratch: buffers.scratch, plain: buffers.plain, to: sink)
            return
        }
        object.prefetch(whole)
        let chunk = UInt64(Self.chunkSegments * reader.header.segmentSize)
        var start = range.lowerBound
        while start < range.upperBound {
            let end = min(range.upperBound, (start / chunk + 1) * chunk)
            let span = reader.sealedSpan(of: start..<end)
            let target = UnsafeMutableRawBufferPointer(rebasing: buffers.sealed[0..<Int(span.count)])
            try await fill(target, at: span.lowerBound)
            try source.borrowing(UnsafeRawBufferPointer(target), at: span.lowerBound) {
                try reader.read(range: start..<end, scratch: buffers.scratch, plain: buffers.plain, to: sink)
            }
            start = end
        }
    }

    /// Segments per chunk of a ranged read: 512 KiB of sealed bytes stay in
    /// a core's L2 cache between the read and the decryption.
    static let chunkSegments = 8

    /// Fills `target` from `offset`: what the page cache holds now without a
    /// thread hop, the rest with a blocking read on the I/O queue.
    private func fill(_ target: UnsafeMutableRawBufferPointer, at offset: UInt64) async throws {
        let cached = object.readCached(at: offset, into: target)
        guard cached < target.count else { return }
        do {
            try await object.read(at: offset + UInt64(cached), into: ReadTarget(UnsafeMutableRawBufferPointer(rebasing: target[cached...])))
        } catch let error as StorageError where error.code == .conditionFailed {
            throw ObjectStore.VersionGone()
        }
    }

    /// The whole plaintext (a manifest, a small object).
    func readAll(_ reader: ObjectReader) async throws -> [UInt8] {
        try await load(reader.dataOffset..<size)
        return try reader.readAll()
    }

    /// The sealed data region as stored (metadata changes copy it verbatim).
    func sealedData(_ reader: ObjectReader) async throws -> [UInt8] {
        if size <= UInt64(head.count) { return Array(head[Int(reader.dataOffset)...]) }
        return try await fetch(at: reader.dataOffset, count: Int(size - reader.dataOffset))
    }

    private func load(_ span: Range<UInt64>) async throws {
        guard !source.covers(span) else { return }
        source.add(at: span.lowerBound, try await fetch(at: span.lowerBound, count: Int(span.count)))
    }

    /// A backend read; a version that was replaced meanwhile (a backend that
    /// cannot pin it) is `ObjectStore.VersionGone`, so the caller can start over.
    private func fetch(at offset: UInt64, count: Int) async throws -> [UInt8] {
        do {
            return try await object.read(at: offset, count: count)
        } catch let error as StorageError where error.code == .conditionFailed {
            throw ObjectStore.VersionGone()
        }
    }

    /// Bytes of the header and metadata block, from the first bytes of the object.
    static func headerLength(_ head: [UInt8], size: UInt64) throws -> Int {
        let fixed = try ObjectHeader.fixedLength(fromPreamble: Array(head.prefix(ObjectHeader.preambleSize)))
        guard head.count >= fixed + 16 else { return min(Int(size), fixed + 16) }
        let lengthAt = fixed + 12
        let metaLength = Int(head[lengthAt]) << 24 | Int(head[lengthAt + 1]) << 16 | Int(head[lengthAt + 2]) << 8 | Int(head[lengthAt + 3])
        guard metaLength <= 1 << 24 else { throw StorageError.integrity("metadata block too large") }
        return min(Int(size), fixed + 16 + metaLength + ObjectHeader.sealOverhead(ObjectHeader.flags(fromPreamble: head)))
    }
}

/// The bytes of an object that were fetched so far, as an `ObjectSource`.
/// A read outside them is a bug of the caller (it loads before it reads).
final class WindowSource: ObjectSource {
    let size: UInt64
    private var windows: [(offset: UInt64, bytes: [UInt8])] = []

    init(size: UInt64) { self.size = size }

    func add(at offset: UInt64, _ bytes: [UInt8]) {
        windows.removeAll { $0.offset == offset }
        windows.append((offset, bytes))
    }

    func covers(_ span: Range<UInt64>) -> Bool {
        windows.contains { $0.offset <= span.lowerBound && span.upperBound <= $0.offset + UInt64($0.bytes.count) }
    }

    /// Memory lent for the duration of `body` (a chunk being decrypted).
    private var borrowed: (offset: UInt64, bytes: UnsafeRawBufferPointer)?

    func borrowing<R>(_ bytes: UnsafeRawBufferPointer, at offset: UInt64, _ body: () throws -> R) rethrows -> R {
        borrowed = (offset, bytes)
        defer { borrowed = nil }
        return try body()
    }

    func withBytes<R>(at offset: UInt64, count: Int, scratch: UnsafeMutableRawBufferPointer,
                      _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let span = offset..<(offset + UInt64(count))
        guard span.upperBound <= size else { throw StorageError.integrity("object ends early") }
        if let borrowed, borrowed.offset <= span.lowerBound, span.upperBound <= borrowed.offset + UInt64(borrowed.bytes.count) {
            let lo = Int(offset - borrowed.offset)
            return try body(UnsafeRawBufferPointer(rebasing: borrowed.bytes[lo..<(lo + count)]))
        }
        guard let window = windows.first(where: { $0.offset <= span.lowerBound && span.upperBound <= $0.offset + UInt64($0.bytes.count) }) else {
            throw StorageError(.io, "bytes \(span) of the object were read before they were fetched")
        }
        let lo = Int(offset - window.offset)
        return try window.bytes.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[lo..<(lo + count)])) }
    }
}

/// The memory of one ranged read, allocated once: a chunk of sealed
/// segments, a segment's scratch and its plaintext (wiped when done).
private final class ReadBuffers {
    let sealed: UnsafeMutableRawBufferPointer
    let scratch: UnsafeMutableRawBufferPointer
    let plain: UnsafeMutableRawBufferPointer

    init(segmentSize: Int, overhead: Int, chunkSegments: Int) {
        sealed = .allocate(byteCount: chunkSegments * (segmentSize + overhead), alignment: 4096)
        scratch = .allocate(byteCount: segmentSize + overhead, alignment: 64)
        plain = .allocate(byteCount: segmentSize, alignment: 64)
    }

    deinit {
        plain.initializeMemory(as: UInt8.self, repeating: 0)
        sealed.deallocate()
        scratch.deallocate()
        plain.deallocate()
    }
}
