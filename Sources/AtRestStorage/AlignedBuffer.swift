import Glibc

/// Sealed bytes handed to a backend in one piece (`BackendUpload.append`):
/// page-aligned and zero-padded to the next page, so a backend writing
/// around the page cache (`O_DIRECT`, the local backend's whole-object
/// writes) can take them as they are, and one that copies them (librados)
/// needs no intermediate array. Filled once by its creator, read-only after
/// that: that is what makes it safe to share between tasks.
public final class AlignedBuffer: @unchecked Sendable {
    public static let alignment = 4096
    /// The bytes that count.
    public let count: Int
    private let storage: UnsafeMutableRawBufferPointer
    /// The pooled allocation `storage` is the start of (nil: allocated on its own).
    private let pooled: UnsafeMutableRawBufferPointer?

    /// A zeroed buffer of `count` bytes (capacity rounded up to `alignment`).
    public init(count: Int) {
        precondition(count >= 0)
        self.count = count
        let capacity = max(Self.alignment, (count + Self.alignment - 1) / Self.alignment * Self.alignment)
        (storage, pooled) = LargeBufferPool.shared.take(capacity)
        storage.initializeMemory(as: UInt8.self, repeating: 0)
    }

    /// A buffer whose first `count` bytes the creator overwrites in full
    /// before anything reads them (the sealers: every byte of a sealed object
    /// is written, checked by their preconditions): only the padding is
    /// zeroed, not the 4 MiB a block's sealing writes again right after.
    public init(overwrittenCount count: Int) {
        precondition(count >= 0)
        self.count = count
        let capacity = max(Self.alignment, (count + Self.alignment - 1) / Self.alignment * Self.alignment)
        (storage, pooled) = LargeBufferPool.shared.take(capacity)
        UnsafeMutableRawBufferPointer(rebasing: storage[count...]).initializeMemory(as: UInt8.self, repeating: 0)
    }

    /// A copy of `bytes`.
    public convenience init(_ bytes: [UInt8]) {
        self.init(count: bytes.count)
        bytes.withUnsafeBytes { mutableBytes.copyMemory(from: $0) }
    }

    deinit {
        if let pooled { LargeBufferPool.shared.give(pooled) } else { storage.deallocate() }
    }

    /// For the creator, while it fills the buffer (before sharing it).
    public var mutableBytes: UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(rebasing: storage[0..<count]) }

    /// `range` of the bytes, for the creator while it fills the buffer
    /// (side by side, each filler its own range).
    func mutableBytes(_ range: Range<Int>) -> UnsafeMutableRawBufferPointer {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "range outside the buffer")
        return UnsafeMutableRawBufferPointer(rebasing: storage[range])
    }

    /// Copies `bytes` in at `offset` (the creator, while it fills the buffer).
    func copy(_ bytes: ArraySlice<UInt8>, to offset: Int) {
        bytes.withUnsafeBytes { mutableBytes(offset..<offset + $0.count).copyMemory(from: $0) }
    }

    /// Zeros `range` (the creator, while it fills the buffer).
    func zero(_ range: Range<Int>) {
        mutableBytes(range).initializeMemory(as: UInt8.self, repeating: 0)
    }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(rebasing: storage[0..<count]))
    }

    /// The bytes and their zero padding up to the next `alignment` boundary.
    func withPaddedBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(storage))
    }

    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }
}
