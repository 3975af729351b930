import AtRestCrypto
import AtRestWire

/// Key names are per tenant: the key a tenant calls `customer/k1` is stored in
/// the provider as `t<12 hex>.k1`, where the 12 hex characters (the tenant's
/// tag) are a keyed hash of the tenant id. Two tenants can therefore both
/// have a `k1`, and the id that reaches object headers, wrapped keys, events
/// and the audit log names the tenant without naming it in clear.
///
/// Callers may pass either form: a plain name is qualified with the caller's
/// own tenant; a qualified id is taken as it is (and must then belong to the
/// caller's tenant, or the key answers NOT_FOUND). The vault always answers
/// with the qualified id. Names of the form `t<12 hex>.<rest>` are therefore
/// reserved. See docs/KEY-PROVIDERS.md "Tenants".
struct KeyNamespace: Sendable {
    /// "t" + 12 lowercase hex characters.
    static let tagLength = QualifiedKeyID.tagLength
    /// Provider key ids are at most 127 bytes; the tag and its dot take 14.
    static let maxNameLength = 127 - tagLength - 1

    private let key: SecretBytes

    init(rootKey: SecretBytes) throws(VaultError) {
        do {
            key = try HKDF.deriveKey(from: rootKey, salt: [UInt8](), info: Array("atrest/v1/key-namespace".utf8), outputCount: 32)
        } catch {
            throw VaultError(.internal, "deriving the key-namespace key failed: \(error)")
        }
    }

    /// The tag of `tenant` (the same tenant always gets the same tag).
    func tag(_ tenant: String) -> String {
        // HMAC over a 32-byte key cannot fail short of memory exhaustion.
        let mac = (try? HMACSHA256.authenticate(Array(tenant.utf8), using: key)) ?? []
        return "t" + Hex.encode(mac.prefix(6))
    }

    /// `name` as the provider stores it for `tenant`.
    func qualify(_ name: String, tenant: String) -> String { tag(tenant) + "." + name }

    /// The tag and the name of a qualified id; nil for a plain name.
    static func split(_ id: String) -> (tag: Substring, name: Substring)? { QualifiedKeyID.split(id) }

    /// The user's name of a key id (the id itself when it is not qualified).
    static func name(of id: String) -> String { QualifiedKeyID.name(of: id) }
}
