import AtRestCrypto
import AtRestLoginGate
import AtRestTokens
import AtRestWire

/// The identity service as a library: opens (or creates) the state under the
/// configured data directory and answers `atrest.v1.Identity/*` through an
/// `RPCRouter`. The executable only parses flags, builds this and serves
/// `router` on a socket; tests call `router` in-process.
///
/// First start creates, under the data directory: `root.key` (32 random
/// bytes, 0600; or the key comes from `$ATREST_IDENTITY_ROOT_KEY`),
/// `identity.state` (sealed with the root key), and
/// `credentials/admin.secret` (the bootstrap administrator's secret, 0600,
/// unless `adminSecret` is configured). Log in as `admin` in the system
/// tenant with that secret to create tenants, users and grants.
public final class IdentityService: Sendable {
    public let config: IdentityConfiguration
    let directory: IdentityDirectory
    let throttle: LoginThrottle
    /// Bounds concurrent password hashing and keeps it off the cooperative pool.
    let gate: LoginGate
    let serviceSecrets: ServiceSecretCache
    /// Verifies callers' bearer tokens; its keys follow rotations at once.
    public let verifier: TokenVerifier
    /// A precomputed hash to check unknown principals against, so their answer costs the same time.
    let decoyHash: PasswordHash

    public init(config: IdentityConfiguration) async throws {
        self.config = config
        directory = try IdentityDirectory(config: config)
        throttle = LoginThrottle(policy: config.loginThrottle, now: config.now)
        gate = LoginGate(policy: config.loginGate)
        serviceSecrets = try ServiceSecretCache()
        decoyHash = try PasswordHash(hashing: Array("decoy".utf8), iterations: config.passwordIterations)
        let keys = await directory.keySet()
        let directory = directory
        verifier = try TokenVerifier(
            configuration: .init(issuer: config.issuer, audience: config.audience, clockSkewSeconds: config.clockSkewSeconds,
                                 minRefreshIntervalSeconds: 0),
            keys: keys.keys, now: config.now, refresh: { await directory.keySet() })
    }

    /// The method table.
    public var router: RPCRouter {
        var router = RPCRouter()
        registerTokenMethods(&router)
        registerAdminMethods(&router)
        registerListMethods(&router)
        registerAccountMethods(&router)
        return router
    }

    /// The current published key set (what `Keys` returns).
    public func keySet() async -> IdentityKeySet { await directory.keySet() }

    /// The current signer (benchmarks and tests sign edge-case tokens with it).
    public func currentIssuer() async -> TokenIssuer { await directory.issuer() }

    /// Checks the caller's bearer token and that it holds one of `roles` (any valid token when empty).
    func authorize(_ context: RPCContext, anyOf roles: [Role]) async throws -> TokenClaims {
        guard let token = context.header.bearerToken, !token.isEmpty else {
            throw RPCStatus.noToken
        }
        let claims = try await verifier.verify(token)
        guard roles.isEmpty || roles.contains(where: claims.has) else {
            let names = roles.map(\.description).joined(separator: " or ")
            throw RPCStatus(.permissionDenied, "principal '\(claims.name)' (\(claims.subject)) needs role \(names) for \(context.header.method)")
        }
        return claims
    }

}

extension PrincipalRecord {
    var wire: IdentityPrincipal {
        IdentityPrincipal(principalID: id, kind: kind.rawValue, tenant: tenant, name: name,
                          roles: tokenRoles.map(\.description), accountID: accountID ?? "", createdAtUnix: createdAt)
    }

    var managedIdentityWire: IdentityManagedIdentity {
        IdentityManagedIdentity(principalID: id, accountID: accountID ?? "", tenant: tenant, createdAtUnix: createdAt)
    }
}
