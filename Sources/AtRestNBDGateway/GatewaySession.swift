import AtRestClient
import AtRestMessaging
import AtRestWire

/// The gateway's connection to the front door and its caller's token:
/// either a principal's login (tenant, name, secret), renewed a minute
/// before it expires (`ServiceTokens`), or a fixed token (the CLI's saved one).
///
/// At most `maxCalls` disk calls are in flight at once over all exports and
/// connections (a 32 MiB read of 16 requests on 4 connections would be 512
/// calls): the front door refuses a client connection more than
/// `--max-calls-per-client` (256 by default) with RESOURCE_EXHAUSTED.
public final class GatewaySession: Sendable {
    public static let defaultMaxCalls = 64
    public let client: ServiceClient
    private let tokens: ServiceTokens?
    private let slots: CallSlots

    /// Logs in as `credentials` through the front door at each expiry.
    public init(client: ServiceClient, credentials: IdentityLoginRequest, maxCalls: Int = defaultMaxCalls) {
        self.client = client
        tokens = ServiceTokens(identity: client.rpc, credentials: credentials)
        slots = CallSlots(maxCalls)
    }

    /// Uses the token `client` carries as it is.
    public init(client: ServiceClient, maxCalls: Int = defaultMaxCalls) {
        self.client = client
        tokens = nil
        slots = CallSlots(maxCalls)
    }

    /// Runs `body` in a call slot with a current token; once more with a new
    /// login when the token was refused as UNAUTHENTICATED (expired or revoked early).
    public func withToken<T>(_ body: () async throws -> T) async throws -> T {
        await slots.acquire()
        do {
            let result = try await authorized(body)
            await slots.release()
            return result
        } catch {
            await slots.release()
            throw error
        }
    }

    private func authorized<T>(_ body: () async throws -> T) async throws -> T {
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

/// A counting semaphore for calls: `acquire` waits (suspended, in FIFO
/// order) while `limit` calls hold a slot.
actor CallSlots {
    private let limit: Int
    private var held = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(_ limit: Int) { self.limit = max(1, limit) }

    func acquire() async {
        if held < limit {
            held += 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    /// Hands the slot to the first waiter, or frees it.
    func release() {
        if waiting.isEmpty {
            held -= 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}
