import AtRestCrypto

/// The token signing keys in memory: the active one signs, retired ones stay
/// published until the last token they signed has expired.
struct SigningKeyRing: Sendable {
    private(set) var activeKid: String
    private var privateKeys: [String: Ed25519.PrivateKey]

    /// Opens every sealed seed in `records` with the root key.
    init(records: [SigningKeyRecord], activeKid: String, rootKey: SecretBytes) throws {
        var keys: [String: Ed25519.PrivateKey] = [:]
        for record in records {
            let seed = try Self.openSeed(record, rootKey: rootKey)
            let key = try Ed25519.PrivateKey(rawRepresentation: seed)
            guard Base64URL.encode(key.publicKey.rawRepresentation) == record.x else {
                throw IdentityError("signing key '\(record.kid)' does not match its published public key; the state is inconsistent")
            }
            keys[record.kid] = key
        }
        guard keys[activeKid] != nil else { throw IdentityError("the active signing key '\(activeKid)' is missing from the state") }
        self.activeKid = activeKid
        privateKeys = keys
    }

    /// A ring holding only a freshly made key (first start).
    init(first record: SigningKeyRecord, key: Ed25519.PrivateKey) {
        activeKid = record.kid
        privateKeys = [record.kid: key]
    }

    var activeKey: Ed25519.PrivateKey { privateKeys[activeKid]! }

    /// A new key and its sealed record.
    static func makeKey(now: Int64, rootKey: SecretBytes) throws -> (SigningKeyRecord, Ed25519.PrivateKey) {
        let key = try Ed25519.PrivateKey()
        let kid = "k" + Base64URL.encode(try SecureRandom.bytes(9))
        let nonce = try SecureRandom.bytes(AESGCM.nonceSize)
        let sealed = try AESGCM.seal(key.rawRepresentation, using: rootKey, nonce: nonce, authenticating: aad(kid))
        let record = SigningKeyRecord(kid: kid, sealedSeed: nonce + sealed,
                                      x: Base64URL.encode(key.publicKey.rawRepresentation), createdAt: now)
        return (record, key)
    }

    mutating func add(_ record: SigningKeyRecord, _ key: Ed25519.PrivateKey, activate: Bool) {
        privateKeys[record.kid] = key
        if activate { activeKid = record.kid }
    }

    mutating func remove(kid: String) { privateKeys[kid] = nil }

    private static func aad(_ kid: String) -> [UInt8] { Array("atrest/identity/signing-key/\(kid)".utf8) }

    private static func openSeed(_ record: SigningKeyRecord, rootKey: SecretBytes) throws -> SecretBytes {
        guard record.sealedSeed.count > AESGCM.nonceSize else { throw IdentityError("signing key '\(record.kid)' is truncated") }
        let nonce = Array(record.sealedSeed[..<AESGCM.nonceSize])
        var seed = try AESGCM.open(record.sealedSeed[AESGCM.nonceSize...], using: rootKey, nonce: nonce, authenticating: aad(record.kid))
        defer { for i in seed.indices { seed[i] = 0 } }
        return SecretBytes(seed)
    }
}
