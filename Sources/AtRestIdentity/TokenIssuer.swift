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
        // The services refuse larger tokens: say so here, where it can be acted on, not on every call.
        guard token.utf8.count <= TokenVerifier.Configuration.defaultMaxTokenBytes else { throw Self.tooLarge(principal, bytes: token.utf8.count) }
        return IdentityToken(token: token, expiresAtUnix: claims.expiresAt, principalID: principal.id, tenant: principal.tenant)
    }

    /// Signs arbitrary claims (tests and benchmarks use it to make edge-case tokens).
    public func sign(_ claims: TokenClaims) throws -> String {
        try CompactJWS.sign(claims, kid: kid, key: key)
    }

    /// The refusal of a principal whose token would be larger than the services accept.
    static func tooLarge(_ principal: PrincipalRecord, bytes: Int) -> RPCStatus {
        RPCStatus(.failedPrecondition,
                  "the token of principal '\(principal.name.prefix(128))' would be \(bytes) bytes, more than the \(TokenVerifier.Configuration.defaultMaxTokenBytes) bytes the AtRest services accept: "
                  + "it carries \(principal.tokenRoles.count) roles; revoke some (`atrest identity revoke-role`) or use a principal per purpose",
                  details: ["reason": "tokenTooLarge", "bytes": "\(bytes)", "roles": "\(principal.tokenRoles.count)"])
    }
}
