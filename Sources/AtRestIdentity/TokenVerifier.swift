import AtRestCrypto
import AtRestWire
import FoundationEssentials
import Synchronization

/// Verifies AtRest tokens offline, with the published key set (`Keys`).
///
/// Used by the front door and the vault on every call. Checks, in order:
/// shape, `alg` (EdDSA only: `none`, HS256 and everything else are rejected
/// before any key is looked at), `kid` known, the Ed25519 signature, then
/// iss, aud, exp, nbf and iat with a small clock skew. Every rejection is an
/// `RPCStatus(.unauthenticated, reason)`.
///
/// An unknown kid triggers one call to `refresh` (the key set may have
/// rotated), at most once per `minRefreshInterval`, so a flood of forged
/// kids cannot turn into a flood of calls to the identity service.
///
/// Verified tokens are cached (token string → claims) until they expire:
/// a client reuses its token for up to an hour, and an Ed25519 verification
/// costs ~100-150 µs on this hardware, while a cache hit costs a hash lookup.
/// Time claims and the kid are re-checked on every hit, so a cached token
/// still expires on time and dies with its key.
public final class TokenVerifier: Sendable {
    public struct Configuration: Sendable {
        public var issuer: String
        public var audience: String
        /// Tolerance for clocks that disagree, applied to exp, nbf and iat.
        public var clockSkewSeconds: Int64
        /// Unknown kids refresh the key set at most this often.
        public var minRefreshIntervalSeconds: Int64
        public var maxTokenBytes: Int
        /// 0 disables the verified-token cache.
        public var cacheCapacity: Int

        public init(issuer: String, audience: String, clockSkewSeconds: Int64 = 60,
                    minRefreshIntervalSeconds: Int64 = 30, maxTokenBytes: Int = 8192, cacheCapacity: Int = 10_000) {
            self.issuer = issuer
            self.audience = audience
            self.clockSkewSeconds = clockSkewSeconds
            self.minRefreshIntervalSeconds = minRefreshIntervalSeconds
            self.maxTokenBytes = maxTokenBytes
            self.cacheCapacity = cacheCapacity
        }
    }

    public typealias KeySetSource = @Sendable () async throws -> IdentityKeySet

    private struct CachedToken {
        var kid: String
        var claims: TokenClaims
    }

    private struct State {
        var keys: [String: Ed25519.PublicKey] = [:]
        var lastRefresh: Int64?
        var cache: [String: CachedToken] = [:]
    }

    public let configuration: Configuration
    private let state = Mutex(State())
    private let refresh: KeySetSource?
    private let now: @Sendable () -> Int64

    /// - Parameters:
    ///   - keys: the initial key set (may be empty when `refresh` is given).
    ///   - now: seconds since the epoch; injectable for tests.
    ///   - refresh: fetches the current key set (the `Keys` RPC), called on an unknown kid.
    public init(configuration: Configuration, keys: [IdentitySigningKey] = [],
                now: @escaping @Sendable () -> Int64 = UnixClock.now, refresh: KeySetSource? = nil) throws {
        self.configuration = configuration
        self.now = now
        self.refresh = refresh
        try replaceKeys(keys)
    }

    /// Replaces the known keys with `keys` (keys no longer published are dropped).
    public func replaceKeys(_ keys: [IdentitySigningKey]) throws {
        var map: [String: Ed25519.PublicKey] = [:]
        for key in keys {
            guard key.alg == CompactJWS.algorithm, key.kty == "OKP", key.crv == "Ed25519" else { continue }
            guard let raw = Base64URL.decode(key.x), raw.count == Ed25519.publicKeySize else {
                throw RPCStatus(.invalidArgument, "signing key '\(key.kid)' has a malformed public key 'x'")
            }
            map[key.kid] = try Ed25519.PublicKey(rawRepresentation: raw)
        }
        state.withLock { state in
            state.keys = map
            state.cache.removeAll()
        }
    }

    /// The kids currently trusted.
    public var knownKids: [String] { state.withLock { $0.keys.keys.sorted() } }

    /// Verifies `token`, refreshing the key set once on an unknown kid.
    public func verify(_ token: String) async throws -> TokenClaims {
        do {
            return try verifyWithKnownKeys(token)
        } catch let status as RPCStatus where status.details["reason"] == "unknownKid" {
            guard let refresh, claimRefreshSlot() else { throw status }
            let set: IdentityKeySet
            do {
                set = try await refresh()
            } catch {
                throw RPCStatus(.unavailable, "token uses signing key '\(status.details["kid"] ?? "")', which is not known here, and the key set could not be refreshed: \(error)")
            }
            try replaceKeys(set.keys)
            return try verifyWithKnownKeys(token)
        }
    }

    /// Verifies `token` against the keys already known; never calls out.
    public func verifyWithKnownKeys(_ token: String) throws -> TokenClaims {
        let now = now()
        if configuration.cacheCapacity > 0, let hit = cached(token) {
            try checkTime(hit.claims, now: now)
            return hit.claims
        }
        let parsed = try CompactJWS.parse(token, maxBytes: configuration.maxTokenBytes)
        guard let key = state.withLock({ $0.keys[parsed.kid] }) else {
            throw RPCStatus(.unauthenticated,
                            "token rejected: signing key '\(parsed.kid.prefix(64))' is unknown (not published by issuer '\(configuration.issuer)'; the token may come from another issuer or a key retired long ago)",
                            details: ["reason": "unknownKid", "kid": String(parsed.kid.prefix(64))])
        }
        guard key.isValidSignature(parsed.signature, for: parsed.signingInput) else {
            throw RPCStatus(.unauthenticated, "token rejected: the signature does not verify (the token was altered or signed with another key)")
        }
        let claims: TokenClaims
        do {
            claims = try JSONDecoder().decode(TokenClaims.self, from: Data(parsed.payload))
        } catch {
            throw RPCStatus(.unauthenticated, "token rejected: the payload is not a valid AtRest claim set (needs iss, sub, tid, aud, iat, exp, jti)")
        }
        guard claims.issuer == configuration.issuer else {
            throw RPCStatus(.unauthenticated, "token rejected: issuer '\(claims.issuer.prefix(128))' is not the trusted issuer '\(configuration.issuer)'")
        }
        guard claims.audience == configuration.audience else {
            throw RPCStatus(.unauthenticated, "token rejected: audience '\(claims.audience.prefix(128))' does not match '\(configuration.audience)'; request a token for this audience")
        }
        try checkTime(claims, now: now)
        if configuration.cacheCapacity > 0 { remember(token, CachedToken(kid: parsed.kid, claims: claims)) }
        return claims
    }

    private func checkTime(_ claims: TokenClaims, now: Int64) throws(RPCStatus) {
        let skew = configuration.clockSkewSeconds
        if now >= claims.expiresAt + skew {
            throw RPCStatus(.unauthenticated, "token rejected: expired \(now - claims.expiresAt) s ago (exp \(claims.expiresAt)); log in again")
        }
        if let nbf = claims.notBefore, now + skew < nbf {
            throw RPCStatus(.unauthenticated, "token rejected: not valid for another \(nbf - now) s (nbf \(nbf)); check this host's clock")
        }
        if now + skew < claims.issuedAt {
            throw RPCStatus(.unauthenticated, "token rejected: issued \(claims.issuedAt - now) s in the future (iat \(claims.issuedAt)); check this host's clock")
        }
    }

    private func cached(_ token: String) -> CachedToken? {
        state.withLock { state in
            guard let hit = state.cache[token] else { return nil }
            // A key dropped from the set takes its tokens with it.
            guard state.keys[hit.kid] != nil else {
                state.cache[token] = nil
                return nil
            }
            return hit
        }
    }

    private func remember(_ token: String, _ entry: CachedToken) {
        state.withLock { state in
            if state.cache.count >= configuration.cacheCapacity {
                // Expired entries first; if that frees nothing, start over (bounded memory beats LRU bookkeeping here).
                let now = now()
                state.cache = state.cache.filter { $0.value.claims.expiresAt + configuration.clockSkewSeconds > now }
                if state.cache.count >= configuration.cacheCapacity { state.cache.removeAll(keepingCapacity: true) }
            }
            state.cache[token] = entry
        }
    }

    /// True when this caller may refresh now (and records the attempt).
    private func claimRefreshSlot() -> Bool {
        let now = now()
        return state.withLock { state in
            if let last = state.lastRefresh, now - last < configuration.minRefreshIntervalSeconds { return false }
            state.lastRefresh = now
            return true
        }
    }
}

/// Wall-clock seconds since the epoch.
public enum UnixClock {
    @Sendable public static func now() -> Int64 { Int64(Date().timeIntervalSince1970) }
}
