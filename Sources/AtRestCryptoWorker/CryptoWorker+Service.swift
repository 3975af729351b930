import AtRestBackends
import AtRestClient
import AtRestMessaging
import AtRestRuntime
import AtRestWire
import ServiceLifecycle

/// The worker under `ServiceMain`: it takes work on its own threads from
/// `init` on; `run()` waits for the graceful shutdown, then drains (credit
/// 0, the calls in flight finish, DISCONNECT).
extension CryptoWorker: Service {
    /// A worker wired as the executable runs it: its storage opened (every
    /// pool; a cluster that cannot be reached stops the start with an error
    /// naming the monitors), RPC clients to the identity service and the
    /// vault, its service tokens, the vault for account keys.
    public static func connect(configuration: CryptoWorkerConfiguration) async throws -> CryptoWorker {
        guard let credentials = configuration.credentials else {
            throw RPCStatus(.failedPrecondition, "a worker needs its service principal's credentials")
        }
        let identity = try RPCClient(endpoint: configuration.identityEndpoint,
                                     configuration: RPCClientConfiguration(curve: configuration.identityCurve))
        let vault = try RPCClient(endpoint: configuration.vaultEndpoint, configuration: RPCClientConfiguration(curve: configuration.vaultCurve))
        let tokens = ServiceTokens(identity: identity, credentials: credentials)
        let pools = try await StoragePools.open(configuration.storage, extraPools: configuration.extraPools)
        return try CryptoWorker(configuration: configuration, keyVault: AccountKeyVault(vault: vault, tokens: tokens), stores: ObjectStores(pools))
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await drain()
    }

    /// `ready atrest-worker endpoint=<front door workers> name=<name> [status=<endpoint>]`.
    public var readyLine: String {
        ReadyLine.format(name: "atrest-worker", endpoint: frontDoorWorkers,
                         extra: [("name", workerID)] + (statusEndpoint.map { [("status", $0)] } ?? []))
    }
}
