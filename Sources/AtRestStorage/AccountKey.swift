import AtRestCrypto

/// An unwrapped account encryption key (AEK) with its reference and the
/// values derived from it once (not per object): the key check value stored
/// in headers and the key that hashes names on disk.
///
/// The caller (the crypto worker) gets the AEK from the vault and builds this
/// once per cache entry; the format and the store never call a vault.
public struct AccountKey: Sendable {
    public let key: SecretBytes
    public let reference: KeyReference
    /// 16 bytes of HKDF(AEK, info "atrest/v1/key-check"): identifies the key
    /// without revealing it; the same for every object under this key version.
    public let checkValue: [UInt8]
    /// HKDF(AEK, info "atrest/v1/names"): keys the HMAC that hides names on disk.
    let nameKey: SecretBytes
    /// The infrastructure layer's key, for accounts created with infrastructure
    /// encryption (nil: one layer). See `InfrastructureKey`.
    public internal(set) var infrastructure: InfrastructureKey?

    static let checkValueSize = 16

    public init(key: SecretBytes, reference: KeyReference) throws {
        guard key.count == 32 else { throw StorageError(.invalidArgument, "account key must be 32 bytes, got \(key.count)") }
        self.key = key
        self.reference = reference
        checkValue = try HKDF.deriveKey(from: key, salt: [UInt8](), info: Array("atrest/v1/key-check".utf8),
                                        outputCount: Self.checkValueSize).withUnsafeBytes { Array($0) }
        nameKey = try HKDF.deriveKey(from: key, salt: [UInt8](), info: Array("atrest/v1/names".utf8), outputCount: 32)
    }

    /// The per-object key: HKDF-SHA256(AEK, salt, "atrest/v1" ‖ 0x00 ‖ context).
    func objectKey(salt: [UInt8], context: [UInt8]) throws -> SecretBytes {
        try HKDF.deriveKey(from: key, salt: salt, info: Array("atrest/v1".utf8) + [0] + context, outputCount: 32)
    }

    /// Hex of HMAC-SHA256(nameKey, parts joined with length prefixes): the only
    /// form in which names appear on disk.
    public func hashName(_ parts: [String]) throws -> String {
        var w = ByteWriter()
        for part in parts { let u = Array(part.utf8); w.u32(UInt32(u.count)); w.raw(u) }
        let mac = try HMACSHA256.authenticate(w.bytes, using: nameKey)
        return Hex.encode(mac.prefix(20))
    }

    /// The backend container that holds everything of `account` — its blob
    /// containers, queue directory and table directory: `a-<H("account", account)>`.
    /// Not inlined: the typed throws of `BackendContainer` inlined into an
    /// async caller crash swift 6.3.1's release builds (see QueueStore).
    @inline(never)
    public func accountContainer(_ account: String) throws -> BackendContainer {
        try BackendContainer("a-\(try hashName(["account", account]))")
    }
}
