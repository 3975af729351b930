internal import COpenSSL

/// X25519 key agreement (RFC 7748) through OpenSSL EVP: the vault's BYOK
/// import envelope seals a customer key to the vault's X25519 public key.
///
/// Private keys are 32 random bytes in `SecretBytes` (OpenSSL clamps them on
/// use); `sharedSecret` refuses low-order peer points (OpenSSL reports the
/// all-zero result as a failure), so a hostile public key cannot force a
/// known shared secret.
public enum X25519 {
    public static let keySize = 32

    /// A fresh private key from the OpenSSL CSPRNG.
    public static func generatePrivateKey() throws -> SecretBytes {
        try SecretBytes(randomCount: keySize)
    }

    /// The public key of `privateKey`.
    public static func publicKey(for privateKey: SecretBytes) throws -> [UInt8] {
        let pkey = try load(privateKey)
        defer { EVP_PKEY_free(pkey) }
        var out = [UInt8](repeating: 0, count: keySize)
        var length = keySize
        guard EVP_PKEY_get_raw_public_key(pkey, &out, &length) == 1, length == keySize else {
            throw CryptoError.openSSL("X25519 public key export")
        }
        return out
    }

    /// The 32-byte shared secret of `privateKey` and `peerPublicKey`.
    public static func sharedSecret(_ privateKey: SecretBytes, peerPublicKey peer: [UInt8]) throws -> SecretBytes {
        guard peer.count == keySize else {
            throw CryptoError(.invalidInput, "an X25519 public key is 32 bytes, got \(peer.count)")
        }
        let pkey = try load(privateKey)
        defer { EVP_PKEY_free(pkey) }
        OpenSSLErrorQueue.clear()
        guard let peerKey = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nil, peer, keySize) else {
            throw CryptoError(.invalidInput, "not an X25519 public key")
        }
        defer { EVP_PKEY_free(peerKey) }
        guard let context = EVP_PKEY_CTX_new(pkey, nil) else { throw CryptoError.openSSL("EVP_PKEY_CTX_new") }
        defer { EVP_PKEY_CTX_free(context) }
        var length = keySize
        var failed = false
        let secret = SecretBytes(count: keySize) { out in
            failed = EVP_PKEY_derive_init(context) != 1 || EVP_PKEY_derive_set_peer(context, peerKey) != 1
                || EVP_PKEY_derive(context, out.baseAddress!.assumingMemoryBound(to: UInt8.self), &length) != 1
                || length != keySize
        }
        if failed {
            OpenSSLErrorQueue.clear()
            throw CryptoError(.invalidInput, "X25519 key agreement failed (invalid or low-order peer key)")
        }
        return secret
    }

    private static func load(_ privateKey: SecretBytes) throws -> OpaquePointer {
        guard privateKey.count == keySize else {
            throw CryptoError(.invalidInput, "an X25519 private key is 32 bytes, got \(privateKey.count)")
        }
        OpenSSLErrorQueue.clear()
        let pkey = privateKey.withUnsafeBytes { bytes in
            EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nil, bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), keySize)
        }
        guard let pkey else { throw CryptoError.openSSL("X25519 private key import") }
        return pkey
    }
}
