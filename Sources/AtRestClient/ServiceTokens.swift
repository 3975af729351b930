import AtRestMessaging
import AtRestTokens
import AtRestWire
import Synchronization

/// Tokens an internal service needs: its own (client-credential login as a
/// service principal, from the secret in its `CredentialsFile`) and, per
/// account, the account's managed identity's (what a worker or the front
/// door presents to the vault to wrap or unwrap that account's key). Used by
/// the vault, the front door and the workers alike.
///
/// Both are cached until a minute before they expire, so the identity
/// service sees one login per service and one token request per account per
/// token lifetime, not one per call.
public final class ServiceTokens: Sendable {
    /// A service principal's login: what `IdentityMethod.login` takes.
    public typealias Credentials = IdentityLoginRequest

    private let identity: RPCClient
    private let credentials: Credentials
    private let now: @Sendable () -> Int64
    private let cache = Mutex<[String: IdentityToken]>([:])
    static let serviceKey = "\u{0}service"
    static let margin: Int64 = 60

    public init(identity: RPCClient, credentials: Credentials, now: @escaping @Sendable () -> Int64 = UnixClock.now) {
        self.identity = identity
        self.credentials = credentials
        self.now = now
    }

    public func serviceToken() async throws -> IdentityToken {
        if let hit = cached(Self.serviceKey) { return hit }
        let token = try await client(token: nil).login(tenant: credentials.tenant, clientID: credentials.clientID, secret: credentials.secret)
        store(Self.serviceKey, token)
        return token
    }

    /// The account's managed identity token (requested as the service principal).
    public func managedIdentityToken(account: String) async throws -> IdentityToken {
        if let hit = cached(account) { return hit }
        let token = try await client(token: try await serviceToken().token).managedIdentityToken(account: account)
        store(account, token)
        return token
    }

    private func client(token: String?) -> IdentityClient {
        IdentityClient(ServiceClient(rpc: identity, token: token, timeout: .seconds(10)))
    }

    /// Forgets a cached token (e.g. after UNAUTHENTICATED from the vault).
    public func forget(account: String? = nil) {
        cache.withLock { $0[account ?? Self.serviceKey] = nil }
    }

    private func cached(_ key: String) -> IdentityToken? {
        let now = now()
        return cache.withLock { cache in
            guard let token = cache[key], token.expiresAtUnix - Self.margin > now else { return nil }
            return token
        }
    }

    private func store(_ key: String, _ token: IdentityToken) {
        cache.withLock { $0[key] = token }
    }
}
