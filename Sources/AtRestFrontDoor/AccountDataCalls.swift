import AtRestClient
import AtRestMessaging
import AtRestTokens
import AtRestWire
import Synchronization

/// The front door's own calls to the workers (`atrest.v1.AccountData/*`):
/// only workers read the store, so "does this account hold anything" and
/// "erase its objects" are data calls. They go through the front door's own
/// public endpoint like any client's (admission attaches the account
/// context from the registry; a worker answers), as the front door's service
/// principal: `CallAuthorizer` lets only callers with the `service` role
/// reach `AccountData/*`, and lets them reach nothing else of an account.
///
/// With CURVE on the public endpoint, this client has a key pair of its own,
/// made at start-up and added to the endpoint's allow-list (never written anywhere).
final class AccountDataCalls: Sendable {
    let rpc: RPCClient
    let tokens: ServiceTokens

    init(endpoint: String, curve: CurveClientConfiguration?, tokens: ServiceTokens) throws {
        var configuration = RPCClientConfiguration(curve: curve)
        configuration.defaultTimeout = .seconds(60)
        rpc = try RPCClient(endpoint: Self.connectable(endpoint), configuration: configuration)
        self.tokens = tokens
    }

    /// The bound endpoint with a wildcard host replaced by loopback.
    static func connectable(_ endpoint: String) -> String {
        for wildcard in ["tcp://0.0.0.0:", "tcp://*:"] where endpoint.hasPrefix(wildcard) {
            return "tcp://127.0.0.1:" + endpoint.dropFirst(wildcard.count)
        }
        if endpoint.hasPrefix("tcp://[::]:") { return "tcp://[::1]:" + endpoint.dropFirst("tcp://[::]:".count) }
        return endpoint
    }

    /// What `account` holds (containers, queues, tables, disks, shares).
    func usage(_ account: String) async throws -> AccountUsage {
        try await call(AccountDataMethod.usage, account, idempotent: true)
    }

    /// Deletes everything `account` holds; what was deleted.
    func erase(_ account: String) async throws -> AccountUsage {
        try await call(AccountDataMethod.erase, account, idempotent: false)
    }

    /// The containers a re-encryption job goes through and what they hold.
    func reencryptPlan(_ account: String, container: String) async throws -> AccountReencryptPlan {
        try await call(AccountDataMethod.reencryptPlan, AccountReencryptPlanRequest(container: container), account, idempotent: true)
    }

    /// One page of the re-encryption job (repeating a page is harmless).
    func reencrypt(_ account: String, _ request: BlobReencryptRequest) async throws -> BlobReencryptResponse {
        try await call(AccountDataMethod.reencrypt, request, account, idempotent: true)
    }

    /// The account's name key wrapped by its KEK (a names-only entry, for retiring the version it comes from).
    func wrapNameKey(_ account: String) async throws -> AccountKeyEntry {
        try await call(AccountDataMethod.wrapNameKey, EmptyMessage(), account, idempotent: true)
    }

    /// `account`'s uncommitted staged blocks older than the retention removed (repeating it is harmless).
    func collectBlocks(_ account: String, retentionSeconds: UInt32) async throws -> CollectBlocksResponse {
        try await call(AccountDataMethod.collectBlocks, CollectBlocksRequest(retentionSeconds: retentionSeconds), account, idempotent: true)
    }

    private func call(_ method: RPCMethod<EmptyMessage, AccountUsage>, _ account: String, idempotent: Bool) async throws -> AccountUsage {
        try await call(method, EmptyMessage(), account, idempotent: idempotent)
    }

    private func call<Request: WireMessage, Reply: WireMessage>(_ method: RPCMethod<Request, Reply>, _ request: Request, _ account: String,
                                                                idempotent: Bool) async throws -> Reply {
        let token = try await tokens.serviceToken()
        let metadata = ["authorization": "Bearer \(token.token)", AccountContext.accountMetadataKey: account]
        return try await rpc.call(method.name, request: request, as: Reply.self, metadata: metadata, idempotent: idempotent).message
    }

    func close() { rpc.close() }
}

/// Who may call `AccountData/*`: AtRest services (the `service` role), on
/// an account that still has its key (deleted accounts included: the purge
/// erases them). Anyone else is refused whatever roles it holds on the account.
enum AccountDataAccess {
    static func authorize(_ claims: TokenClaims, _ record: AccountRecord?, account: String) throws(RPCStatus) -> AccountRecord {
        guard claims.has(.service), claims.kind == "service" else {
            throw RPCStatus(.permissionDenied, "\(AccountDataMethod.service) is for AtRest services only (the front door); principal '\(claims.name)' is not one")
        }
        guard let record else { throw RPCStatus(.notFound, "account '\(account)' does not exist") }
        if record.info.state == AccountState.purged, let refusal = AccountDeletion.refusal(record.info) { throw refusal }
        return record
    }
}

/// The `AccountDataCalls` of a front door, set once its endpoint is bound
/// (the account service is built before the broker that binds it).
final class DataCallsBox: Sendable {
    private let value = Mutex<AccountDataCalls?>(nil)

    func set(_ calls: AccountDataCalls) { value.withLock { $0 = calls } }

    func calls() throws -> AccountDataCalls {
        guard let calls = value.withLock({ $0 }) else { throw RPCStatus(.unavailable, "the front door is starting", retryAfterMs: 200) }
        return calls
    }
}
