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
    /// Keys the HMAC that hides names on disk: HKDF(AEK of the account's
    /// first version, info "atrest/v1/names"), the same across rotations
    /// (docs/FORMAT.md "Account key versions").
    private(set) var nameKey: SecretBytes
    /// The account's other versions this key can open (older versions of its
    /// own chain, scope keys), by account key version.
    private var others: [UInt32: AccountKey] = [:]
    /// A request's customer-provided key (`withCustomerKey`): what the
    /// content of the object it writes or reads is sealed under, with the
    /// object key (docs/FORMAT.md "Customer-provided keys"). Nil: none.
    /// It goes with every version `opening(version:)` returns.
    public internal(set) var customerKey: SecretBytes? = nil
    /// Versions the account has but may not use now (a disabled encryption
    /// scope, a KEK the vault refuses): opening one throws its error.
    private var blocked: [UInt32: StorageError] = [:]
    /// The infrastructure layer's key, for accounts created with infrastructure
    /// encryption (nil: one layer). See `InfrastructureKey`. Like
    /// `customerKey`, it goes with every version `opening(version:)` returns.
    public internal(set) var infrastructure: InfrastructureKey?

    static let checkValueSize = 16
    static let nameInfo = Array("atrest/v1/names".utf8)

    /// The key of an account's first (or only) version: its name key is derived from it.
    public init(key: SecretBytes, reference: KeyReference) throws {
        try self.init(key: key, reference: reference,
                      nameKey: try HKDF.deriveKey(from: key, salt: [UInt8](), info: Self.nameInfo, outputCount: 32))
    }

    /// A later version: `nameKey` is the account's stable name key (see `nameKey(derivedFrom:)`).
    public init(key: SecretBytes, reference: KeyReference, nameKey: SecretBytes) throws {
        guard key.count == 32 else { throw StorageError(.invalidArgument, "account key must be 32 bytes, got \(key.count)") }
        guard nameKey.count == 32 else { throw StorageError(.invalidArgument, "name key must be 32 bytes, got \(nameKey.count)") }
        self.key = key
        self.reference = reference
        self.nameKey = nameKey
        checkValue = try HKDF.deriveKey(from: key, salt: [UInt8](), info: Array("atrest/v1/key-check".utf8),
                                        outputCount: Self.checkValueSize).withUnsafeBytes { Array($0) }
    }

    /// The name key of an account whose first version's AEK is `firstVersion`.
    public static func nameKey(derivedFrom firstVersion: SecretBytes) throws -> SecretBytes {
        try HKDF.deriveKey(from: firstVersion, salt: [UInt8](), info: nameInfo, outputCount: 32)
    }

    /// The same key hashing names with `nameKey` (the account's stable name key).
    public func renamed(nameKey: SecretBytes) throws -> AccountKey {
        guard nameKey.count == 32 else { throw StorageError(.invalidArgument, "name key must be 32 bytes, got \(nameKey.count)") }
        var copy = self
        copy.nameKey = nameKey
        return copy
    }

    /// The same key (for new writes) that can also open objects of `versions`.
    public func adding(_ versions: [AccountKey]) -> AccountKey {
        var copy = self
        for version in versions where version.reference.accountKeyVersion != reference.accountKeyVersion {
            copy.others[version.reference.accountKeyVersion] = version.forgettingOthers
        }
        return copy
    }

    private var forgettingOthers: AccountKey {
        var copy = self
        copy.others = [:]
        return copy
    }

    /// Account key versions this key opens, the current one included.
    public var versions: [UInt32] { ([reference.accountKeyVersion] + others.keys).sorted() }

    /// The key of `version` (an object header's "account key version"):
    /// this one, or one of the versions added; `.wrongKey` for any other.
    public func opening(version: UInt32) throws(StorageError) -> AccountKey {
        if version == reference.accountKeyVersion { return self }
        if let error = blocked[version] { throw error }
        guard var other = others[version] else {
            throw StorageError(.wrongKey, "object is encrypted under account key version \(version), which this account no longer has (or never had)")
        }
        other.customerKey = customerKey
        other.infrastructure = infrastructure
        return other
    }

    /// The same key, with `version` known but refused with `error`
    /// (`.keyUnavailable`: the caller's status says why).
    public func blocking(_ version: UInt32, _ error: StorageError) -> AccountKey {
        var copy = self
        copy.blocked[version] = error
        return copy
    }

    /// The key writes seal with when they choose `version` (an encryption
    /// scope's): that version's key, hashing names with this key's (stable)
    /// name key and opening every version this one opens.
    public func sealing(version: UInt32) throws(StorageError) -> AccountKey {
        if version == reference.accountKeyVersion { return self }
        var chosen = try opening(version: version)
        chosen.nameKey = nameKey
        chosen.others = others
        chosen.others[version] = nil
        chosen.others[reference.accountKeyVersion] = forgettingOthers
        chosen.blocked = blocked
        return chosen
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
