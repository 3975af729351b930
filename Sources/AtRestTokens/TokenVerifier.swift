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
/// rotated): callers that meet an unknown kid while a fetch runs share it,
/// and a new fetch starts at most once per `minRefreshInterval`, so a flood
/// of forged kids cannot turn into a flood of calls to the identity
/// service. A kid still unknown after the fetch (or while fetches are rate
/// limited) is UNAUTHENTICATED with details reason `unknownKid`.
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
        /// The largest token the services accept by default; the identity service issues none larger.
        public static let defaultMaxTokenBytes = 8192
        /// 0 disables the verified-token cache.
        public var cacheCapacity: Int

        public init(issuer: String, audience: String, clockSkewSeconds: Int64 = 60,
                    minRefreshIntervalSeconds: Int64 = 30, maxTokenBytes: Int = defaultMaxTokenBytes, cacheCapacity: Int = 10_000) {
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
        /// When the last fetch started (`refreshClock`, ms) and whether it failed.
        var lastRefresh: Int64?
        var lastRefreshFailed = false
        var refreshing: Task<Void, any Error>?
        var cache: [String: CachedToken] = [:]
    }

    /// What a caller that met an unknown kid can do about it now.
    public enum KeyRefresh: Sendable {
        /// A fetch is running (just started, or started by another caller): await it.
        case running(Task<Void, any Error>)
        /// The last fetch started less than `minRefreshInterval` ago (and `failed` says whether it failed).
        case rateLimited(failed: Bool)
        /// No refresh source.
        case unavailable
        /// The kid asked about is known now: a fetch finished after the caller
        /// looked (verify again, with the known keys).
        case known
    }

    public let configuration: Configuration
    private let state = Mutex(State())
    private let refresh: KeySetSource?
    private let now: @Sendable () -> Int64
    private let refreshClock: @Sendable () -> Int64

    /// - Parameters:
    ///   - keys: the initial key set (may be empty when `refresh` is given).
    ///   - now: seconds since the epoch; injectable for tests.
    ///   - refreshClock: milliseconds on a monotonic clock, for the refresh rate limit; injectable for tests.
    ///   - refresh: fetches the current key set (the `Keys` RPC), called on an unknown kid.
    public init(configuration: Configuration, keys: [IdentitySigningKey] = [],
                now: @escaping @Sendable () -> Int64 = UnixClock.now,
                refreshClock: @escaping @Sendable () -> Int64 = UnixClock.monotonicMillis,
                refresh: KeySetSource? = nil) throws {
        self.configuration = configuration
        self.now = now
        self.refreshClock = refreshClock
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

    /// Verifies `token`, refreshing the key set once on an unknown kid (sharing a running fetch).
    public func verify(_ token: String) async throws -> TokenClaims {
        do {
            return try verifyWithKnownKeys(token)
        } catch let status as RPCStatus where status.details["reason"] == "unknownKid" {
            if let fetch = try runningFetch(after: status) {
                do {
                    try await fetch.value
                } catch {
                    throw keySetUnavailable(status, "\(error)")
                }
            }
            return try verifyWithKnownKeys(token)
        }
    }

    /// For callers that cannot wait (the front door's broker loop): verifies
    /// with the known keys; on an unknown kid starts (or joins) the shared
    /// fetch and answers UNAVAILABLE with `retry_after_ms` and details reason
    /// `keyRefresh` (the call was not started: retry it), or UNAUTHENTICATED
    /// `unknownKid` when a fetch that did not know the kid ran less than
    /// `minRefreshInterval` ago.
    public func verifyOrStartRefresh(_ token: String) throws -> TokenClaims {
        do {
            return try verifyWithKnownKeys(token)
        } catch let status as RPCStatus where status.details["reason"] == "unknownKid" {
            if try runningFetch(after: status) == nil { return try verifyWithKnownKeys(token) }
            throw RPCStatus(.unavailable, "the token's signing key '\(status.details["kid"] ?? "")' is not known here yet; it is being "
                            + "fetched from the identity service: retry after retry_after_ms (the call was not started)",
                            retryAfterMs: 100, details: ["reason": "keyRefresh", "kid": status.details["kid"] ?? ""])
        }
    }

    /// The shared key-set fetch: the running one, or a new one when the last
    /// started at least `minRefreshInterval` ago. Given `kid`, answers `known`
    /// when that kid is trusted by now: a caller that met it unknown may have
    /// lost the race with a fetch that finished since (and would otherwise be
    /// told "rate limited" about a kid it can verify).
    public func refreshKeys(unlessKnown kid: String? = nil) -> KeyRefresh {
        guard let refresh else { return .unavailable }
        let now = refreshClock()
        let interval = configuration.minRefreshIntervalSeconds * 1000
        return state.withLock { current in
            if let kid, current.keys[kid] != nil { return .known }
            if let running = current.refreshing { return .running(running) }
            if let last = current.lastRefresh, now - last < interval { return .rateLimited(failed: current.lastRefreshFailed) }
            current.lastRefresh = now
            // The task's last step takes this lock, so it cannot finish before `refreshing` is set here.
            let fetch = startFetch(refresh)
            current.refreshing = fetch
            return .running(fetch)
        }
    }

    private func startFetch(_ refresh: @escaping KeySetSource) -> Task<Void, any Error> {
        Task { [self] in
            do {
                let set = try await refresh()
                try replaceKeys(set.keys)
                state.withLock { $0.refreshing = nil; $0.lastRefreshFailed = false }
            } catch {
                state.withLock { $0.refreshing = nil; $0.lastRefreshFailed = true }
                throw error
            }
        }
    }

    /// The fetch that may bring the unknown kid of `status` (nil: the kid is
    /// known by now), or what to answer when none may run now.
    private func runningFetch(after status: RPCStatus) throws(RPCStatus) -> Task<Void, any Error>? {
        switch refreshKeys(unlessKnown: status.details["kid"]) {
        case .known: return nil
        case .running(let fetch): return fetch
        case .rateLimited(failed: true): throw keySetUnavailable(status, "the last refresh failed")
        case .unavailable, .rateLimited(failed: false): throw status
        }
    }

    private func keySetUnavailable(_ status: RPCStatus, _ reason: String) -> RPCStatus {
        RPCStatus(.unavailable, "token uses signing key '\(status.details["kid"] ?? "")', which is not known here, and the key set "
                  + "could not be refreshed: \(reason)", retryAfterMs: UInt32(configuration.minRefreshIntervalSeconds * 1000))
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
}
