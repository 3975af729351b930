/// The bytes of one payload frame, readable without copying them.
///
/// Bulk bytes travel as frames of their own (docs/PROTOCOL.md) and a frame
/// can be megabytes: copying each into a `[UInt8]` on the way in and out of
/// a handler cost the broker path a sixth of its CPU at 1 MiB. A part is
/// either an array (or a slice of one: an upload sends 4 MiB blocks of a
/// large buffer without cutting them out) or memory owned by the transport
/// (a received frame), kept alive by its owner for as long as any copy of
/// the part lives. Either way it is immutable, so it may cross threads.
///
/// Read it with `withUnsafeBytes`; `bytes` makes an array (free for an
/// array that is not a slice).
public struct PayloadPart: @unchecked Sendable {
    private enum Storage {
        case array([UInt8], Range<Int>)
        case owned(AnyObject, UnsafeRawPointer)
    }

    private let storage: Storage
    public let count: Int

    /// A part over a whole array (not copied).
    public init(_ bytes: [UInt8]) {
        storage = .array(bytes, bytes.indices)
        count = bytes.count
    }

    /// A part over `range` of `bytes` (not copied: the array is retained).
    public init(_ bytes: [UInt8], range: Range<Int>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= bytes.count, "range outside the array")
        storage = .array(bytes, range)
        count = range.count
    }

    /// A part over `count` bytes at `base` that `owner` keeps alive and
    /// unchanged for its whole life (a transport's received frame).
    public init(owner: some AnyObject & Sendable, base: UnsafeRawPointer, count: Int) {
        storage = .owned(owner, base)
        self.count = count
    }

    public var isEmpty: Bool { count == 0 }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch storage {
        case .array(let bytes, let range):
            return try bytes.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[range])) }
        case .owned(let owner, let base):
            return try withExtendedLifetime(owner) { try body(UnsafeRawBufferPointer(start: base, count: count)) }
        }
    }

    /// The bytes as an array: the array itself when the part is a whole
    /// array, otherwise a copy.
    public var bytes: [UInt8] {
        if case .array(let bytes, let range) = storage, range == bytes.indices { return bytes }
        return withUnsafeBytes { Array($0) }
    }

    /// For transports that hand the memory on without copying: the base
    /// address and an object that keeps it alive (the array's storage is
    /// kept alive by retaining the returned box).
    public func retainedStorage() -> (owner: AnyObject, base: UnsafeRawPointer) {
        switch storage {
        case .owned(let owner, let base):
            return (owner, base)
        case .array(let bytes, let range):
            let box = ArrayOwner(bytes)
            return (box, box.base + range.lowerBound)
        }
    }
}

extension [PayloadPart] {
    /// All parts' bytes, concatenated into one array.
    public func joined() -> [UInt8] {
        if count == 1 { return self[0].bytes }
        var out: [UInt8] = []
        out.reserveCapacity(reduce(0) { $0 + $1.count })
        for part in self { part.withUnsafeBytes { out.append(contentsOf: $0) } }
        return out
    }
}

/// Holds an array whose storage a transport points into.
private final class ArrayOwner {
    let bytes: [UInt8]
    let base: UnsafeRawPointer

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        // A native array's buffer does not move while this copy of it lives
        // and nobody mutates it (the array is a `let`).
        base = bytes.withUnsafeBytes { UnsafeRawPointer($0.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!) }
    }
}
