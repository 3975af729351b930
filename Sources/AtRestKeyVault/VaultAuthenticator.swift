import AtRestTokens
import AtRestWire
import Logging

/// Turns a request's bearer token into a `VaultCaller`, offline.
///
/// The identity service's signing keys come from its `Keys` method at start
/// and again whenever a token names an unknown kid (at most every few
/// seconds, so forged kids cannot flood the identity service).
struct VaultAuthenticator: Sendable {
    let verifier: TokenVerifier

    static func make(keySet: @escaping @Sendable () async throws -> IdentityKeySet, issuer: String?, audience: String,
                     logger: Logger) async throws -> VaultAuthenticator {
        var initial: IdentityKeySet?
        // The identity service may start a moment after the vault: try a few times, then serve anyway.
        for attempt in 1...5 {
            do {
                initial = try await keySet()
                break
            } catch {
                logger.warning("cannot fetch the identity key set yet", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                try await Task.sleep(for: .milliseconds(200 * attempt))
            }
        }
        let trustedIssuer = issuer ?? initial?.issuer ?? "atrest-identity"
        if let published = initial?.issuer, published != trustedIssuer {
            logger.warning("--issuer differs from the identity service's issuer", metadata: ["issuer": "\(trustedIssuer)", "published": "\(published)"])
        }
        let verifier = try TokenVerifier(
            configuration: .init(issuer: trustedIssuer, audience: audience, minRefreshIntervalSeconds: 2),
            keys: initial?.keys ?? [], refresh: keySet)
        return VaultAuthenticator(verifier: verifier)
    }

    func callerFor(_ header: RPCHeader) async throws -> VaultCaller {
        guard let token = header.bearerToken, !token.isEmpty else {
            throw RPCStatus.noToken
        }
        let claims = try await verifier.verify(token)
        return VaultCaller(principalID: claims.subject, tenantID: claims.tenant, roles: Set(claims.roles),
                           accountID: claims.accountID ?? "")
    }
}
