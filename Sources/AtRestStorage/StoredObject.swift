import AtRestCrypto

/// One version of a sealed object opened on a backend, decrypted on demand.
///
/// Opening reads the head (the header and metadata block, and the whole
/// object when it is small) in one backend read; `read(range:)` then fetches
/// only the sealed segments a range touches, in windows of
/// `windowSegments`, and decrypts them from memory. The backend object pins
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
    /// Segments fetched per backend read of a range (4 MiB of plaintext).
    static let windowSegments = 64

    init(name: BackendName, object: any BackendObject, head: [UInt8]) {
        self.name = name
        self.object = object
        self.head = head
        source = WindowSource(size: object.info.size)
        source.add(at: 0, head)
    }

    /// Opens the current version of `name` (`.notFound` when absent),
    /// reading its first `headBytes` (more follow when its header and
    /// metadata need them).
    static func open(_ backend: any StorageBackend, _ name: BackendName, headBytes: Int = headRead) async throws -> StoredObject {
        let object = try await backend.open(name)
        return StoredObject(name: name, object: object, head: try await object.read(at: 0, count: Int(min(object.info.size, UInt64(headBytes)))))
    }

    /// `open`, but nil when there is no such object (`StorageBackend.openIfPresent`).
    static func openIfPresent(_ backend: any StorageBackend, _ name: BackendName) async throws -> StoredObject? {
        guard let object = try await backend.openIfPresent(name) else { return nil }
        return StoredObject(name: name, object: object, head: try await object.read(at: 0, count: Int(min(object.info.size, UInt64(headRead)))))
    }

    /// What `open` reads, as Sendable parts (for opening many at once).
    static func openParts(_ backend: any StorageBackend, _ name: BackendName) async throws -> (object: any BackendObject, head: [UInt8]) {
        let object = try await backend.open(name)
        return (object, try await object.read(at: 0, count: Int(min(object.info.size, UInt64(headRead)))))
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

    /// Streams the plaintext of `range` to `sink`, fetching a window of
    /// sealed segments at a time.
    func read(_ reader: ObjectReader, range: Range<UInt64>, to sink: (UnsafeRawBufferPointer) throws -> Void) async throws {
        try await withoutActuallyEscaping(sink) { try await read(reader, range: range, to: .sink($0)) }
    }

    /// The same, into `destination` (straight into a buffer of the range's size).
    func read(_ reader: ObjectReader, range: Range<UInt64>, to destination: PlaintextDestination) async throws {
        guard range.upperBound <= reader.length else {
            throw StorageError(.invalidArgument, "range \(range) is outside the object (length \(reader.length))")
        }
        if range.isEmpty { return }
        let window = UInt64(Self.windowSegments * reader.header.segmentSize)
        var start = range.lowerBound
        while start < range.upperBound {
            let end = min(range.upperBound, (start / window + 1) * window)
            try await load(reader.sealedSpan(of: start..<end))
            try reader.read(range: start..<end, to: destination.slice(start..<end, of: range))
            source.drop(keepingHead: head.count)
            start = end
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

    /// Drops every window but the head.
    func drop(keepingHead count: Int) { windows.removeAll { $0.offset != 0 } }

    func covers(_ span: Range<UInt64>) -> Bool {
        windows.contains { $0.offset <= span.lowerBound && span.upperBound <= $0.offset + UInt64($0.bytes.count) }
    }

    func withBytes<R>(at offset: UInt64, count: Int, scratch: UnsafeMutableRawBufferPointer,
                      _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let span = offset..<(offset + UInt64(count))
        guard span.upperBound <= size else { throw StorageError.integrity("object ends early") }
        guard let window = windows.first(where: { $0.offset <= span.lowerBound && span.upperBound <= $0.offset + UInt64($0.bytes.count) }) else {
            throw StorageError(.io, "bytes \(span) of the object were read before they were fetched")
        }
        let lo = Int(offset - window.offset)
        return try window.bytes.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[lo..<(lo + count)])) }
    }
}
