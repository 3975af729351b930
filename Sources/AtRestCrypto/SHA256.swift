internal import COpenSSL

/// SHA-256 through EVP (the digest is fetched once per process).
///
/// Use `SHA256.hash(_:)` for a buffer, or an instance to hash a stream with
/// bounded memory (`update` as bytes arrive, then `finalize`).
public final class SHA256 {
    public static let digestSize = 32

    private let context: OpaquePointer

    /// The fetched digest, shared by all threads (EVP_MD objects are immutable).
    nonisolated(unsafe) static let md: OpaquePointer? = EVP_MD_fetch(nil, "SHA256", nil)

    public init() throws {
        guard let md = Self.md else { throw CryptoError.openSSL("EVP_MD_fetch(SHA256)") }
        guard let context = EVP_MD_CTX_new() else { throw CryptoError.openSSL("EVP_MD_CTX_new") }
        self.context = context
        guard EVP_DigestInit_ex2(context, md, nil) == 1 else { throw CryptoError.openSSL("SHA-256 init") }
    }

    deinit { EVP_MD_CTX_free(context) }

    public func update(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        guard EVP_DigestUpdate(context, bytes.baseAddress, bytes.count) == 1 else {
            throw CryptoError.openSSL("SHA-256 update")
        }
    }

    public func update(_ bytes: some ContiguousBytes) throws {
        try bytes.withUnsafeBytes { try update($0) }
    }

    /// Returns the digest; the instance can be reused after `reset()`.
    public func finalize() throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Self.digestSize)
        var length: UInt32 = 0
        guard EVP_DigestFinal_ex(context, &out, &length) == 1, length == 32 else {
            throw CryptoError.openSSL("SHA-256 final")
        }
        return out
    }

    public func reset() throws {
        guard EVP_DigestInit_ex2(context, Self.md, nil) == 1 else { throw CryptoError.openSSL("SHA-256 init") }
    }

    /// SHA-256 of `bytes` in one call.
    public static func hash(_ bytes: some ContiguousBytes) throws -> [UInt8] {
        let hasher = try SHA256()
        try hasher.update(bytes)
        return try hasher.finalize()
    }
}
