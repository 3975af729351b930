internal import COpenSSL
import AtRestCrypto

/// The two primitives the vault needs that AtRestCrypto does not offer yet:
/// HMAC-SHA256 (audit chain, KDF for the import envelope) and X25519 (BYOK
/// import). Interim: move to AtRestCrypto once its HMAC/HKDF land.
enum VaultCrypto {
    static func hmacSHA256(key: some ContiguousBytes, _ parts: [UInt8]...) -> [UInt8] {
        var data: [UInt8] = []
        for part in parts { data += part }
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        key.withUnsafeBytes { k in
            _ = HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), data, data.count, &out, &length)
        }
        return out
    }

    /// A new X25519 private key (32 random bytes, clamped by OpenSSL on use).
    static func x25519PrivateKey() throws(VaultError) -> SecretBytes {
        do { return try SecretBytes(randomCount: 32) } catch {
            throw VaultError(.internal, "generating an X25519 key failed: \(error)")
        }
    }

    static func x25519PublicKey(_ privateKey: SecretBytes) throws(VaultError) -> [UInt8] {
        let pkey = try makePrivate(privateKey)
        defer { EVP_PKEY_free(pkey) }
        var out = [UInt8](repeating: 0, count: 32)
        var length = 32
        guard EVP_PKEY_get_raw_public_key(pkey, &out, &length) == 1, length == 32 else {
            throw VaultError(.internal, "X25519 public key derivation failed")
        }
        return out
    }

    /// The X25519 shared secret; fails for low-order peer points (all-zero output).
    static func x25519(_ privateKey: SecretBytes, peer: [UInt8]) throws(VaultError) -> SecretBytes {
        guard peer.count == 32 else { throw VaultError(.invalidArgument, "X25519 public keys are 32 bytes, got \(peer.count)") }
        let pkey = try makePrivate(privateKey)
        defer { EVP_PKEY_free(pkey) }
        guard let peerKey = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nil, peer, 32) else {
            throw VaultError(.invalidArgument, "not an X25519 public key")
        }
        defer { EVP_PKEY_free(peerKey) }
        guard let context = EVP_PKEY_CTX_new(pkey, nil) else { throw VaultError(.internal, "EVP_PKEY_CTX_new failed") }
        defer { EVP_PKEY_CTX_free(context) }
        var length = 32
        var failed = false
        let secret = SecretBytes(count: 32) { out in
            failed = EVP_PKEY_derive_init(context) != 1 || EVP_PKEY_derive_set_peer(context, peerKey) != 1
                || EVP_PKEY_derive(context, out.baseAddress!.assumingMemoryBound(to: UInt8.self), &length) != 1 || length != 32
        }
        ERR_clear_error()
        if failed { throw VaultError(.invalidArgument, "X25519 key agreement failed (invalid peer key)") }
        return secret
    }

    private static func makePrivate(_ key: SecretBytes) throws(VaultError) -> OpaquePointer {
        let pkey = key.withUnsafeBytes { bytes in
            EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nil, bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), 32)
        }
        guard let pkey else { throw VaultError(.internal, "loading the X25519 private key failed") }
        return pkey
    }
}
