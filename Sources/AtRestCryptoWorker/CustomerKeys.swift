import AtRestCrypto
import AtRestWire

/// The worker's checks of a request's customer-provided key (docs/PROTOCOL.md
/// "Customer-provided keys"), before any key work: the call must have come
/// over CURVE-encrypted links only (the front door says so in the call's
/// header, `CustomerProvidedKey.transportMetadataKey`), the key must be 32
/// bytes and its SHA-256 the one the client sent. Messages never show the key.
enum CustomerKeys {
    static let needsCurve = "customer-provided keys need a CURVE-encrypted connection"

    /// The key as `SecretBytes`, nil when none was sent.
    static func verified(_ sent: CustomerProvidedKey?, _ header: RPCHeader) throws(RPCStatus) -> SecretBytes? {
        guard let sent else { return nil }
        guard header.metadata[CustomerProvidedKey.transportMetadataKey] == CustomerProvidedKey.encryptedTransport else {
            throw RPCStatus(.failedPrecondition, needsCurve, details: ["reason": "customerKeyNeedsCurve"])
        }
        guard sent.key.count == 32 else {
            throw RPCStatus(.invalidArgument, "encryption_key must be a 32-byte AES-256 key, got \(sent.key.count) bytes")
        }
        guard sent.keySHA256.count == SHA256.digestSize else {
            throw RPCStatus(.invalidArgument, "encryption_key_sha256 must be the 32-byte SHA-256 of encryption_key, got \(sent.keySHA256.count) bytes")
        }
        let digest: [UInt8]
        do { digest = try SHA256.hash(sent.key) } catch { throw RPCStatus(.internal, "could not hash the customer-provided key") }
        guard ConstantTime.equals(digest, sent.keySHA256) else {
            throw RPCStatus(.invalidArgument, "encryption_key_sha256 is not the SHA-256 of encryption_key (the key was changed in transit or the hash is wrong)")
        }
        return SecretBytes(sent.key)
    }
}
