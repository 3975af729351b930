import AtRestCrypto
import AtRestWire

/// Bring-your-own-key import wrapping: the customer seals a 32-byte key to the
/// vault's X25519 import public key (`GetImportKey`), so the key never travels
/// in clear, not even inside the RPC channel.
///
/// Envelope: "ATKI" | 0x01 | ephemeral X25519 public key (32) | nonce (12) |
/// AES-256-GCM ciphertext (32) ‖ tag (16), with
///   kek = HMAC-SHA256(key: X25519(ephemeral, vault), "atrest/v1/import" ‖ ephemeral_pub ‖ vault_pub)
///   aad = "ATKI" | 0x01 | key id (UTF-8)
/// The key id in the AAD binds the envelope to the key it was made for: an
/// envelope cannot be replayed to import the same material under another id.
public enum ImportEnvelope {
    static let magic: [UInt8] = Array("ATKI".utf8) + [1]
    static let size = 5 + 32 + 12 + 32 + 16

    /// Seals `material` (32 bytes) for import as `keyID` (customer side: CLI, tests).
    public static func seal(_ material: SecretBytes, keyID: String, vaultPublicKey: [UInt8]) throws -> [UInt8] {
        guard material.count == 32 else { throw VaultError(.invalidArgument, "imported keys are 32 bytes, got \(material.count)") }
        let ephemeral = try VaultCrypto.x25519PrivateKey()
        let ephemeralPublic = try VaultCrypto.x25519PublicKey(ephemeral)
        let kek = try Self.kek(shared: try VaultCrypto.x25519(ephemeral, peer: vaultPublicKey),
                               ephemeralPublic: ephemeralPublic, vaultPublic: vaultPublicKey)
        let nonce = try SecureRandom.bytes(AESGCM.nonceSize)
        let sealed = try material.withUnsafeBytes { bytes in
            try AESGCM.seal(Array(bytes), using: kek, nonce: nonce, authenticating: magic + Array(keyID.utf8))
        }
        return magic + ephemeralPublic + nonce + sealed
    }

    /// Opens an envelope with the vault's import private key (vault side).
    static func open(_ envelope: [UInt8], keyID: String, privateKey: SecretBytes) throws(VaultError) -> SecretBytes {
        guard envelope.count == size, Array(envelope.prefix(5)) == magic else {
            throw VaultError(.corrupt, "import envelope for key '\(keyID)' is not a \(size)-byte ATKI v1 envelope")
        }
        let ephemeralPublic = Array(envelope[5..<37])
        let nonce = Array(envelope[37..<49])
        let body = Array(envelope[49..<81])
        let tag = Array(envelope[81...])
        let kek = try kek(shared: try VaultCrypto.x25519(privateKey, peer: ephemeralPublic),
                          ephemeralPublic: ephemeralPublic, vaultPublic: try VaultCrypto.x25519PublicKey(privateKey))
        do {
            return try SecretBytes(count: 32) { out in
                try body.withUnsafeBytes { input in
                    try AESGCM.open(input, into: out, tag: tag, using: kek, nonce: nonce, authenticating: magic + Array(keyID.utf8))
                }
            }
        } catch {
            throw VaultError(.corrupt, "import envelope for key '\(keyID)' does not authenticate (sealed for another key id or another vault, or damaged)")
        }
    }

    private static func kek(shared: SecretBytes, ephemeralPublic: [UInt8], vaultPublic: [UInt8]) throws(VaultError) -> SecretBytes {
        var mac = try VaultCrypto.hmacSHA256(key: shared, Array("atrest/v1/import".utf8), ephemeralPublic, vaultPublic)
        defer { for i in mac.indices { mac[i] = 0 } }
        return SecretBytes(mac)
    }
}
