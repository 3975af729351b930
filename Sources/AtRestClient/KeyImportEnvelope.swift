import AtRestCrypto
import AtRestWire
import Foundation

/// Bring-your-own-key import wrapping: the customer seals a 32-byte key to the
/// vault's X25519 import public key (`GetImportKey`), so the key never travels
/// in clear, not even inside the RPC channel. The customer side (`seal`, the
/// CLI's `atrest key import`) and the vault side (`open`) share this code.
///
/// Envelope: "ATKI" | 0x01 | ephemeral X25519 public key (32) | nonce (12) |
/// AES-256-GCM ciphertext (32) ‖ tag (16), with
///   kek = HMAC-SHA256(key: X25519(ephemeral, vault), "atrest/v1/import" ‖ ephemeral_pub ‖ vault_pub)
///   aad = "ATKI" | 0x01 | key id (UTF-8)
/// The key id in the AAD binds the envelope to the key it was made for: an
/// envelope cannot be replayed to import the same material under another id.
/// Errors are `RPCStatus` and never contain key material.
public enum KeyImportEnvelope {
    static let magic: [UInt8] = Array("ATKI".utf8) + [1]
    public static let size = 5 + 32 + 12 + 32 + 16

    /// Seals `material` (32 bytes) for import as `keyID` (the plain name, as the customer gives it).
    public static func seal(_ material: SecretBytes, keyID: String, vaultPublicKey: [UInt8]) throws -> [UInt8] {
        guard material.count == 32 else { throw RPCStatus(.invalidArgument, "imported keys are 32 bytes, got \(material.count)") }
        do {
            let ephemeral = try X25519.generatePrivateKey()
            let ephemeralPublic = try X25519.publicKey(for: ephemeral)
            let kek = try kek(shared: try X25519.sharedSecret(ephemeral, peerPublicKey: vaultPublicKey),
                              ephemeralPublic: ephemeralPublic, vaultPublic: vaultPublicKey)
            let nonce = try SecureRandom.bytes(AESGCM.nonceSize)
            let sealed = try material.withUnsafeBytes { bytes in
                try AESGCM.seal(Array(bytes), using: kek, nonce: nonce, authenticating: magic + Array(keyID.utf8))
            }
            return magic + ephemeralPublic + nonce + sealed
        } catch let status as RPCStatus {
            throw status
        } catch {
            throw RPCStatus(.invalidArgument, "sealing the key for import failed (is the vault's import public key a 32-byte X25519 key?)")
        }
    }

    /// Opens an envelope with the vault's import private key (vault side).
    public static func open(_ envelope: [UInt8], keyID: String, privateKey: SecretBytes) throws(RPCStatus) -> SecretBytes {
        guard envelope.count == size, Array(envelope.prefix(5)) == magic else {
            throw RPCStatus(.invalidArgument, "import envelope for key '\(keyID)' is not a \(size)-byte ATKI v1 envelope")
        }
        let ephemeralPublic = Array(envelope[5..<37])
        let nonce = Array(envelope[37..<49])
        let body = Array(envelope[49..<81])
        let tag = Array(envelope[81...])
        do {
            let kek = try kek(shared: try X25519.sharedSecret(privateKey, peerPublicKey: ephemeralPublic),
                              ephemeralPublic: ephemeralPublic, vaultPublic: try X25519.publicKey(for: privateKey))
            return try SecretBytes(count: 32) { out in
                try body.withUnsafeBytes { input in
                    try AESGCM.open(input, into: out, tag: tag, using: kek, nonce: nonce, authenticating: magic + Array(keyID.utf8))
                }
            }
        } catch {
            throw RPCStatus(.invalidArgument,
                            "import envelope for key '\(keyID)' does not authenticate (sealed for another key id or another vault, or damaged)")
        }
    }

    private static func kek(shared: SecretBytes, ephemeralPublic: [UInt8], vaultPublic: [UInt8]) throws -> SecretBytes {
        var mac = try [ephemeralPublic, vaultPublic].withUnsafeParts(prefix: Array("atrest/v1/import".utf8)) {
            try HMACSHA256.authenticate(parts: $0, using: shared)
        }
        defer { for i in mac.indices { mac[i] = 0 } }
        return SecretBytes(mac)
    }

    /// The 32 key bytes of a key file: raw 32 bytes, 64 hex digits, or base64 of 32 bytes
    /// (surrounding whitespace ignored). The message names the file, never its content.
    public static func readKeyFile(_ path: String) throws -> SecretBytes {
        guard var data = FileManager.default.contents(atPath: path) else {
            throw RPCStatus(.invalidArgument, "cannot read key file '\(path)'")
        }
        defer { data.resetBytes(in: 0..<data.count) }
        if data.count == 32 { return SecretBytes(data) }
        var text = [UInt8](data).filter { !($0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09) }
        defer { for i in text.indices { text[i] = 0 } }
        if text.count == 64, let bytes = hexBytes(text) { return SecretBytes(bytes) }
        if var decoded = Data(base64Encoded: Data(text)), decoded.count == 32 {
            defer { decoded.resetBytes(in: 0..<decoded.count) }
            return SecretBytes(decoded)
        }
        throw RPCStatus(.invalidArgument, "key file '\(path)' does not hold a 32-byte key (raw 32 bytes, 64 hex digits or base64)")
    }

    private static func hexBytes(_ text: [UInt8]) -> [UInt8]? {
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x61...0x66: c - 0x61 + 10
            case 0x41...0x46: c - 0x41 + 10
            default: nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(text.count / 2)
        for i in stride(from: 0, to: text.count, by: 2) {
            guard let high = nibble(text[i]), let low = nibble(text[i + 1]) else { return nil }
            out.append(high << 4 | low)
        }
        return out
    }
}

private extension Array where Element == [UInt8] {
    /// `prefix` and the parts as raw buffers, without concatenating them.
    func withUnsafeParts<R>(prefix: [UInt8], _ body: ([UnsafeRawBufferPointer]) throws -> R) rethrows -> R {
        let parts = [prefix] + self
        func nest(_ index: Int, _ acc: [UnsafeRawBufferPointer]) throws -> R {
            if index == parts.count { return try body(acc) }
            return try parts[index].withUnsafeBytes { try nest(index + 1, acc + [$0]) }
        }
        return try nest(0, [])
    }
}
