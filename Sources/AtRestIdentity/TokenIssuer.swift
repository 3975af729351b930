import AtRestCrypto
import AtRestTokens
import AtRestWire

/// Signs tokens with one signing key. A value: the directory hands out the
/// current one, and signing happens outside any lock.
public struct TokenIssuer: Sendable {
    public let kid: String
    let key: Ed25519.PrivateKey
    public let issuer: String
    public let audience: String
    public let lifetimeSeconds: Int64

    /// A signed token for `principal`, valid from `now` for `lifetimeSeconds`.
    func issue(for principal: PrincipalRecord, now: Int64) throws -> IdentityToken {
        let claims = TokenClaims(
            issuer: issuer, subject: principal.id, tenant: principal.tenant, audience: audience,
            roles: principal.tokenRoles.map(\.description), issuedAt: now, expiresAt: now + lifetimeSeconds,
            notBefore: now, tokenID: Base64URL.encode(try SecureRandom.bytes(16)),
            kind: principal.kind.rawValue, name: principal.name, accountID: principal.accountID)
        let token = try sign(claims)
        return IdentityToken(token: token, expiresAtUnix: claims.expiresAt, principalID: principal.id, tenant: principal.tenant)
    }

    /// Signs arbitrary claims (tests and benchmarks use it to make edge-case tokens).
    public func sign(_ claims: TokenClaims) throws -> String {
        try CompactJWS.sign(claims, kid: kid, key: key)
    }
}
