internal import COpenSSL

/// Ed25519 signatures (RFC 8032, pure EdDSA) through OpenSSL EVP.
///
/// Why EVP and not a hand-rolled curve: OpenSSL's implementation is audited
/// and constant-time; we only marshal bytes. Private key bytes live in
/// `SecretBytes`; `description` of a key never shows them.
public enum Ed25519 {
    public static let publicKeySize = 32
    public static let privateKeySize = 32
    public static let signatureSize = 64

    /// A signing key. Sharing one across threads is safe: every call uses its
    /// own `EVP_MD_CTX` and the `EVP_PKEY` is only read.
    public struct PrivateKey: Sendable, CustomStringConvertible {
        let handle: PKeyHandle
        /// The 32-byte RFC 8032 private key (seed).
        public let rawRepresentation: SecretBytes
        public let publicKey: PublicKey

        /// A fresh random key from the OpenSSL CSPRNG.
        public init() throws {
            let seed = try SecretBytes(randomCount: Ed25519.privateKeySize)
            try self.init(rawRepresentation: seed)
        }

        /// Imports a 32-byte private key (seed).
        public init(rawRepresentation seed: SecretBytes) throws {
            guard seed.count == Ed25519.privateKeySize else {
                throw CryptoError(.invalidInput, "an Ed25519 private key is 32 bytes, got \(seed.count)")
            }
            OpenSSLErrorQueue.clear()
            let pkey = seed.withUnsafeBytes { bytes in
                EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil,
                                             bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), bytes.count)
            }
            guard let pkey else { throw CryptoError.openSSL("Ed25519 private key import") }
            handle = PKeyHandle(pkey)
            rawRepresentation = seed
            var publicBytes = [UInt8](repeating: 0, count: Ed25519.publicKeySize)
            var length = publicBytes.count
            guard EVP_PKEY_get_raw_public_key(pkey, &publicBytes, &length) == 1, length == Ed25519.publicKeySize else {
                throw CryptoError.openSSL("Ed25519 public key export")
            }
            publicKey = try PublicKey(rawRepresentation: publicBytes)
        }

        /// Signs `message` (the whole message: Ed25519 hashes internally, so no digest is passed).
        public func signature(for message: some ContiguousBytes) throws -> [UInt8] {
            guard let context = EVP_MD_CTX_new() else { throw CryptoError.openSSL("EVP_MD_CTX_new") }
            defer { EVP_MD_CTX_free(context) }
            OpenSSLErrorQueue.clear()
            guard EVP_DigestSignInit(context, nil, nil, nil, handle.pkey) == 1 else {
                throw CryptoError.openSSL("Ed25519 sign init")
            }
            var signature = [UInt8](repeating: 0, count: Ed25519.signatureSize)
            var length = signature.count
            let ok = message.withUnsafeBytes { bytes in
                EVP_DigestSign(context, &signature, &length, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count)
            }
            guard ok == 1, length == Ed25519.signatureSize else { throw CryptoError.openSSL("Ed25519 sign") }
            return signature
        }

        public var description: String { "Ed25519.PrivateKey(public: \(publicKey.hexPrefix)…, redacted)" }
    }

    /// A verification key: 32 raw bytes (RFC 8032 encoding).
    public struct PublicKey: Sendable, Equatable, CustomStringConvertible {
        let handle: PKeyHandle
        public let rawRepresentation: [UInt8]

        public init(rawRepresentation bytes: [UInt8]) throws {
            guard bytes.count == Ed25519.publicKeySize else {
                throw CryptoError(.invalidInput, "an Ed25519 public key is 32 bytes, got \(bytes.count)")
            }
            OpenSSLErrorQueue.clear()
            guard let pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, bytes, bytes.count) else {
                throw CryptoError.openSSL("Ed25519 public key import")
            }
            handle = PKeyHandle(pkey)
            rawRepresentation = bytes
        }

        /// True when `signature` is a valid Ed25519 signature of `message` under this key.
        /// Never throws for a bad signature: a wrong size or a mismatch is just `false`.
        public func isValidSignature(_ signature: some ContiguousBytes, for message: some ContiguousBytes) -> Bool {
            signature.withUnsafeBytes { sig in
                guard sig.count == Ed25519.signatureSize else { return false }
                guard let context = EVP_MD_CTX_new() else { return false }
                defer {
                    EVP_MD_CTX_free(context)
                    OpenSSLErrorQueue.clear()
                }
                guard EVP_DigestVerifyInit(context, nil, nil, nil, handle.pkey) == 1 else { return false }
                return message.withUnsafeBytes { msg in
                    EVP_DigestVerify(context, sig.baseAddress!.assumingMemoryBound(to: UInt8.self), sig.count,
                                     msg.baseAddress?.assumingMemoryBound(to: UInt8.self), msg.count) == 1
                }
            }
        }

        public static func == (lhs: PublicKey, rhs: PublicKey) -> Bool { lhs.rawRepresentation == rhs.rawRepresentation }

        var hexPrefix: String { Hex.encode(rawRepresentation.prefix(4)) }
        public var description: String { "Ed25519.PublicKey(\(hexPrefix)…)" }
    }
}

/// Owns one `EVP_PKEY` and frees it with the last reference.
final class PKeyHandle: @unchecked Sendable {
    // Immutable after import; OpenSSL allows concurrent read-only use.
    let pkey: OpaquePointer
    init(_ pkey: OpaquePointer) { self.pkey = pkey }
    deinit { EVP_PKEY_free(pkey) }
}
