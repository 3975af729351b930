import AtRestClient
import AtRestMessaging
import AtRestWire

/// The gateway's connection to the front door and its caller's token:
/// either a principal's login (tenant, name, secret), renewed a minute
/// before it expires (`ServiceTokens`), or a fixed token (the CLI's saved one).
public final class GatewaySession: Sendable {
    public let client: ServiceClient
    private let tokens: ServiceTokens?

    /// Logs in as `credentials` through the front door at each expiry.
    public init(client: ServiceClient, credentials: IdentityLoginRequest) {
        self.client = client
        tokens = ServiceTokens(identity: client.rpc, credentials: credentials)
    }

    /// Uses the token `client` carries as it is.
    public init(client: ServiceClient) {
        self.client = client
        tokens = nil
    }

    /// Runs `body` with a current token; once more with a new login when
    /// the token was refused as UNAUTHENTICATED (expired or revoked early).
    func withToken<T>(_ body: () async throws -> T) async throws -> T {
        guard let tokens else { return try await body() }
        client.bearerToken = try await tokens.serviceToken().token
        do {
            return try await body()
        } catch let status as RPCStatus where status.code == .unauthenticated {
            tokens.forget()
            client.bearerToken = try await tokens.serviceToken().token
            return try await body()
        }
    }

    /// Logs in now (a bad secret fails at start-up, not at the first request).
    public func start() async throws {
        if let tokens { client.bearerToken = try await tokens.serviceToken().token }
    }

    public func close() { client.close() }
}
