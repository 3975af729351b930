/// The claims of an AtRest token (a JWT, RFC 7519), as the verifier returns them.
///
/// Registered claims: iss, sub, tid (tenant), aud, roles, iat, exp, nbf, jti.
/// AtRest adds `kind` (user, service, managedIdentity), `name` and, for
/// managed identities, `acct` (the account the identity belongs to).
public struct TokenClaims: Sendable, Equatable, Codable {
    public var issuer: String
    /// The principal id.
    public var subject: String
    public var tenant: String
    public var audience: String
    /// Role strings (see `Role`); unknown strings from a newer issuer are kept, not dropped.
    public var roles: [String]
    public var issuedAt: Int64
    public var expiresAt: Int64
    public var notBefore: Int64?
    public var tokenID: String
    public var kind: String
    public var name: String
    public var accountID: String?

    public init(issuer: String, subject: String, tenant: String, audience: String, roles: [String],
                issuedAt: Int64, expiresAt: Int64, notBefore: Int64? = nil, tokenID: String,
                kind: String, name: String, accountID: String? = nil) {
        self.issuer = issuer
        self.subject = subject
        self.tenant = tenant
        self.audience = audience
        self.roles = roles
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.notBefore = notBefore
        self.tokenID = tokenID
        self.kind = kind
        self.name = name
        self.accountID = accountID
    }

    /// Whether the token grants `role`.
    public func has(_ role: Role) -> Bool { roles.contains(role.description) }

    /// The parsed roles (unknown strings skipped).
    public var parsedRoles: [Role] { roles.compactMap(Role.init) }

    enum CodingKeys: String, CodingKey {
        case issuer = "iss", subject = "sub", tenant = "tid", audience = "aud", roles, issuedAt = "iat"
        case expiresAt = "exp", notBefore = "nbf", tokenID = "jti", kind, name, accountID = "acct"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        issuer = try c.decode(String.self, forKey: .issuer)
        subject = try c.decode(String.self, forKey: .subject)
        tenant = try c.decode(String.self, forKey: .tenant)
        // RFC 7519 allows a single string or an array; AtRest issues one audience.
        if let single = try? c.decode(String.self, forKey: .audience) {
            audience = single
        } else {
            let many = try c.decode([String].self, forKey: .audience)
            guard many.count == 1 else {
                throw DecodingError.dataCorruptedError(forKey: .audience, in: c, debugDescription: "expected one audience")
            }
            audience = many[0]
        }
        roles = try c.decodeIfPresent([String].self, forKey: .roles) ?? []
        issuedAt = try c.decode(Int64.self, forKey: .issuedAt)
        expiresAt = try c.decode(Int64.self, forKey: .expiresAt)
        notBefore = try c.decodeIfPresent(Int64.self, forKey: .notBefore)
        tokenID = try c.decode(String.self, forKey: .tokenID)
        kind = try c.decodeIfPresent(String.self, forKey: .kind) ?? ""
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? ""
        accountID = try c.decodeIfPresent(String.self, forKey: .accountID)
    }
}

extension TokenClaims {
    /// The tenant of the AtRest services and the system administrators.
    public static let systemTenant = "system"
}
