/// Wrapping of account keys under a key-encryption key (KEK).
///
/// Choice: AES-256-GCM with a random 96-bit nonce and AAD binding the key
/// reference, rather than AES-KWP (RFC 5649). KWP has no associated data, so
/// a wrapped key could be moved to another account or key version unnoticed;
/// with GCM the wrapped blob only unwraps under the same reference. Both are
/// FIPS-approved; a KEK wraps few keys, so random nonces are far from the
/// 2^32 limit.
///
/// Wrapped layout: `0x01` (version) ‖ nonce (12) ‖ ciphertext ‖ tag (16).
public enum KeyWrap {
    public static let version: UInt8 = 1
    static let label = Array("atrest/wrap/v1".utf8)

    /// Wraps `key` under `kek`, bound to `context` (e.g. the encoded key reference).
    public static func wrap(_ key: SecretBytes, with kek: SecretBytes, context: some ContiguousBytes) throws -> [UInt8] {
        let nonce = try SecureRandom.bytes(AESGCM.nonceSize)
        let sealed = try AESGCM.seal(key, using: kek, nonce: nonce, authenticating: aad(context))
        return [version] + nonce + sealed
    }

    /// Unwraps a blob made by `wrap`; throws `.authenticationFailure` for a
    /// wrong KEK, a different context or any changed byte.
    public static func unwrap(_ wrapped: some ContiguousBytes, with kek: SecretBytes, context: some ContiguousBytes) throws -> SecretBytes {
        try wrapped.withUnsafeBytes { bytes in
            guard bytes.count >= 1 + AESGCM.nonceSize + AESGCM.tagSize else {
                throw CryptoError(.invalidInput, "wrapped key is \(bytes.count) bytes, too short")
            }
            guard bytes[0] == version else {
                throw CryptoError(.invalidInput, "wrapped key has unknown version \(bytes[0])")
            }
            let nonce = Array(bytes[1..<(1 + AESGCM.nonceSize)])
            let body = UnsafeRawBufferPointer(rebasing: bytes[(1 + AESGCM.nonceSize)...])
            let bodyLength = body.count - AESGCM.tagSize
            let tag = Array(body[bodyLength...])
            let aad = try aad(context)
            return try SecretBytes(count: bodyLength) { out in
                try AESGCM.open(UnsafeRawBufferPointer(rebasing: body[..<bodyLength]), into: out, tag: tag,
                                using: kek, nonce: nonce, authenticating: aad)
            }
        }
    }

    private static func aad(_ context: some ContiguousBytes) throws -> [UInt8] {
        context.withUnsafeBytes { label + Array($0) }
    }
}
