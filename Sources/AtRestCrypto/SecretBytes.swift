internal import COpenSSL

/// Key material in memory that is wiped (`OPENSSL_cleanse`) when released.
///
/// The bytes are reachable only through `withUnsafeBytes`; equality is
/// constant-time; `description` never shows them.
public struct SecretBytes: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    private let storage: Storage

    /// Takes ownership of `bytes` (copies them into a wiped buffer; the caller
    /// should wipe or drop its own copy).
    public init(_ bytes: some Collection<UInt8>) {
        storage = Storage(count: bytes.count)
        _ = storage.pointer.initialize(from: bytes)
    }

    /// `count` fresh random bytes from the OpenSSL CSPRNG.
    public init(randomCount count: Int) throws {
        storage = Storage(count: count)
        try SecureRandom.fill(UnsafeMutableRawBufferPointer(storage.pointer))
    }

    /// Fills a new buffer of `count` bytes through `body` (for derivations).
    public init(count: Int, initializingWith body: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        storage = Storage(count: count)
        try body(UnsafeMutableRawBufferPointer(storage.pointer))
    }

    public var count: Int { storage.count }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(storage.pointer))
    }

    /// Constant-time comparison.
    public func constantTimeEquals(_ other: SecretBytes) -> Bool {
        withUnsafeBytes { a in other.withUnsafeBytes { b in ConstantTime.equals(a, b) } }
    }

    public var description: String { "SecretBytes(\(count) bytes, redacted)" }
    public var debugDescription: String { description }

    private final class Storage: @unchecked Sendable {
        // Written only during SecretBytes.init, then only read.
        private let base: UnsafeMutableRawPointer
        let count: Int

        init(count: Int) {
            self.count = count
            base = .allocate(byteCount: max(count, 1), alignment: 16)
            base.initializeMemory(as: UInt8.self, repeating: 0, count: max(count, 1))
        }

        var pointer: UnsafeMutableBufferPointer<UInt8> {
            UnsafeMutableBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: count)
        }

        deinit {
            OPENSSL_cleanse(base, max(count, 1))
            base.deallocate()
        }
    }
}

extension SecretBytes: Equatable {
    public static func == (lhs: SecretBytes, rhs: SecretBytes) -> Bool { lhs.constantTimeEquals(rhs) }
}

/// Constant-time helpers over OpenSSL's `CRYPTO_memcmp`.
public enum ConstantTime {
    /// True when both buffers have the same length and bytes; time depends only on the length.
    public static func equals(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        if a.count == 0 { return true }
        return CRYPTO_memcmp(a.baseAddress, b.baseAddress, a.count) == 0
    }

    public static func equals(_ a: some ContiguousBytes, _ b: some ContiguousBytes) -> Bool {
        a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in equals(pa, pb) } }
    }
}

/// Byte containers that expose contiguous storage (arrays, slices).
public protocol ContiguousBytes {
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}

extension Array: ContiguousBytes where Element == UInt8 {}
extension ArraySlice: ContiguousBytes where Element == UInt8 {}
extension SecretBytes: ContiguousBytes {}
extension UnsafeRawBufferPointer: ContiguousBytes {
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try body(self) }
}
