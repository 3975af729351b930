import AtRestCrypto
import AtRestWire

/// The vault's uses of AtRestCrypto, with its errors turned into `VaultError`
/// (key material never appears in them). Only AtRestCrypto touches OpenSSL.
enum VaultCrypto {
    /// HMAC-SHA256 over the concatenated parts (audit chain, audit names).
    static func hmacSHA256(key: SecretBytes, _ parts: [UInt8]...) throws(VaultError) -> [UInt8] {
        do {
            return try withParts(parts) { try HMACSHA256.authenticate(parts: $0, using: key) }
        } catch {
            throw VaultError(.internal, "HMAC-SHA256 failed: \(error)")
        }
    }

    /// `count` random bytes from the OpenSSL CSPRNG, born in a `SecretBytes`
    /// (an account key the vault generates).
    static func randomKey(count: Int) throws(VaultError) -> SecretBytes {
        do { return try SecretBytes(randomCount: count) } catch { throw VaultError(.internal, "the random generator failed: \(error)") }
    }

    /// A new X25519 private key.
    static func x25519PrivateKey() throws(VaultError) -> SecretBytes {
        do { return try X25519.generatePrivateKey() } catch { throw VaultError(.internal, "generating an X25519 key failed: \(error)") }
    }

    static func x25519PublicKey(_ privateKey: SecretBytes) throws(VaultError) -> [UInt8] {
        do { return try X25519.publicKey(for: privateKey) } catch { throw VaultError(.internal, "X25519 public key derivation failed: \(error)") }
    }

    /// Hands the parts to `body` as raw buffers without concatenating them.
    private static func withParts<R>(_ parts: [[UInt8]], _ body: ([UnsafeRawBufferPointer]) throws -> R) rethrows -> R {
        func nest(_ index: Int, _ acc: [UnsafeRawBufferPointer]) throws -> R {
            if index == parts.count { return try body(acc) }
            return try parts[index].withUnsafeBytes { try nest(index + 1, acc + [$0]) }
        }
        return try nest(0, [])
    }
}
