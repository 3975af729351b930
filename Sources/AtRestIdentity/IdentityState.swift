import AtRestTokens

/// Everything the identity service persists, as one value.
///
/// Written as JSON and sealed whole (`SealedStateFile`), so names, secret
/// hashes and grants are never in clear on disk; signing keys are sealed a
/// second time on their own (`SigningKeyRecord.sealedSeed`) so the in-memory
/// state never holds a private key outside `SecretBytes`.
struct IdentityState: Codable, Sendable {
    static let currentVersion = 1
    static let systemTenant = TokenClaims.systemTenant

    var version = IdentityState.currentVersion
    var tenants: [String: TenantRecord] = [:]
    /// By principal id.
    var principals: [String: PrincipalRecord] = [:]
    /// Account id → its managed identity's principal id.
    var accounts: [String: String] = [:]
    var signingKeys: [SigningKeyRecord] = []
    var activeKid = ""

    /// The principal named `name` in `tenant`, or the principal whose id is `name`.
    func principal(tenant: String, name: String) -> PrincipalRecord? {
        if let byID = principals[name], byID.tenant == tenant || tenant.isEmpty { return byID }
        return principals.values.first { $0.tenant == tenant && $0.name == name }
    }
}

struct TenantRecord: Codable, Sendable {
    var id: String
    var displayName: String
    var createdAt: Int64
}

enum PrincipalKind: String, Codable, Sendable {
    case user, service, managedIdentity
}

struct PrincipalRecord: Codable, Sendable {
    var id: String
    var kind: PrincipalKind
    var tenant: String
    var name: String
    /// A `PasswordHash.encoded` string; nil for managed identities (they never log in).
    var secretHash: String?
    var roles: [Role]
    var accountID: String?
    var createdAt: Int64

    /// Roles written into this principal's tokens.
    var tokenRoles: [Role] {
        var all = roles
        if kind == .managedIdentity, let accountID, !all.contains(.accountIdentity(accountID)) {
            all.append(.accountIdentity(accountID))
        }
        return all
    }
}

struct SigningKeyRecord: Codable, Sendable {
    var kid: String
    /// The Ed25519 seed sealed with AES-256-GCM under the root key (nonce ‖ ciphertext ‖ tag; AAD names the kid).
    var sealedSeed: [UInt8]
    /// The public key, unpadded base64url.
    var x: String
    var createdAt: Int64
    /// Set when the key stopped signing; nil for the active key.
    var retiredAt: Int64?
    /// After this time no token signed by the key is still valid: stop publishing it.
    var publishedUntil: Int64?
}
