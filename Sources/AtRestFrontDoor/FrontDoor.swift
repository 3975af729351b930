import AtRestClient
import AtRestCrypto
import AtRestMessaging
import AtRestRuntime
import AtRestStatus
import AtRestTokens
import AtRestWire
import Logging

/// The front door as a library: the public endpoint (a `Broker` whose
/// client side faces users and whose worker side faces crypto workers), the
/// account registry, and the control plane. The executable parses flags and
/// runs this; tests build the same thing in-process.
public final class FrontDoor: Sendable {
    public typealias Configuration = FrontDoorConfiguration

    public let broker: Broker
    public let status: ServiceStatus
    public let accounts: AccountManager
    public let registry: AccountRegistry
    let identity: RPCClient
    let vault: RPCClient
    private let events: EventSubscriber<KeyEvent>?
    private let eventTask: Task<Void, Never>?
    private let memoryTask: Task<Void, Never>
    public let deletion: AccountDeletion
    private let dataCalls: AccountDataCalls
    private let sweepTask: Task<Void, Never>
    public let jobs: AccountReencryptJobs
    private let jobTask: Task<Void, Never>
    public let blocks: BlockCollector
    private let blockTask: Task<Void, Never>

    public init(configuration: Configuration) async throws {
        let logger = configuration.logger
        identity = try RPCClient(endpoint: configuration.identityEndpoint,
                                 configuration: RPCClientConfiguration(curve: configuration.identityCurve, logger: logger))
        vault = try RPCClient(endpoint: configuration.vaultEndpoint,
                              configuration: RPCClientConfiguration(curve: configuration.vaultCurve, logger: logger))
        let identity = self.identity
        let fetchKeys: TokenVerifier.KeySetSource = {
            try await IdentityClient(ServiceClient(rpc: identity, timeout: .seconds(5))).keys()
        }
        let verifier = try TokenVerifier(
            configuration: .init(issuer: configuration.issuer, audience: configuration.audience, minRefreshIntervalSeconds: 1),
            keys: (try? await fetchKeys())?.keys ?? [], refresh: fetchKeys)
        registry = try await AccountRegistry.open(dataDirectory: configuration.dataDirectory, backend: configuration.makeRegistryBackend(),
                                                  refreshInterval: configuration.registryRefreshInterval, logger: logger)
        let tokens = ServiceTokens(identity: identity, credentials: configuration.credentials)
        accounts = AccountManager(registry: registry, identity: identity, vault: vault, tokens: tokens, logger: logger,
                                  storageClasses: configuration.storageClasses)
        let dataCallsBox = DataCallsBox()
        deletion = AccountDeletion(manager: accounts, grace: configuration.accountDeleteGrace,
                                   usage: { try await dataCallsBox.calls().usage($0) },
                                   erase: { try await dataCallsBox.calls().erase($0) })
        let authorizer = CallAuthorizer(verifier: verifier, registry: registry)
        jobs = AccountReencryptJobs(manager: accounts, calls: dataCallsBox, runner: configuration.jobRunnerID, settle: configuration.reencryptSettle)
        blocks = BlockCollector(manager: accounts, calls: dataCallsBox, interval: configuration.blockCollectionInterval,
                                retention: configuration.uncommittedBlockRetention)
        // Nil with tracing off: admission and the broker pay nothing for it.
        let tracing = CallTracing.whenTracing()
        // Customer-provided keys travel in requests: workers accept one only
        // when the key crossed CURVE-encrypted links only (never the client's word).
        let transport = configuration.clientCurve != nil && configuration.workerCurve != nil ? CustomerProvidedKey.encryptedTransport : nil
        let status = ServiceStatus(service: "atrest-frontdoor")
        self.status = status
        // The front door's own client of its public endpoint (AccountDataCalls), with a key pair of its own under CURVE.
        var clientCurve = configuration.clientCurve
        let dataCurve = try clientCurve.map { server in
            let mine = try CurveKeyPair.generate()
            clientCurve?.allowedClientKeys.insert(mine.publicKey)
            return CurveClientConfiguration(serverPublicKey: server.keyPair.publicKey, keyPair: mine)
        }
        let control = ControlPlane(accounts: AccountService(manager: accounts, authorizer: authorizer, deletion: deletion, jobs: jobs).router,
                                   identity: identity, vault: vault)
        broker = try Broker(
            clientEndpoint: configuration.clientEndpoint, workerEndpoint: configuration.workerEndpoint,
            configuration: BrokerConfiguration(
                isIdempotent: {
                    BlobMethod.idempotent.contains($0) || QueueMethod.idempotent.contains($0) || TableMethod.idempotent.contains($0)
                        || DiskMethod.idempotent.contains($0) || FileMethod.idempotent.contains($0)
                        || $0.hasPrefix(AccountDataMethod.prefix)
                },
                localService: StatusService(control, status: status),
                route: {
                    $0.hasPrefix(BlobMethod.prefix) || $0.hasPrefix(QueueMethod.prefix) || $0.hasPrefix(TableMethod.prefix)
                        || $0.hasPrefix(DiskMethod.prefix) || $0.hasPrefix(FileMethod.prefix)
                        || $0.hasPrefix(AccountDataMethod.prefix) ? .workers : .local
                },
                admit: { header in
                    // Workers see a per-dispatch call id; logs there carry the client's.
                    header.metadata[StatusService.callIDKey] = Hex.encode(header.callID)
                    header.metadata[CustomerProvidedKey.transportMetadataKey] = transport
                    guard let tracing else { return authorizer.admit(&header) }
                    return tracing.admit(&header) { authorizer.admit(&$0) }
                }, clientCurve: clientCurve,
                workerCurve: configuration.workerCurve, logger: logger
            ).applying(configuration.clientLimits).recordingDataCalls().observing(tracing?.event))
        let broker = self.broker
        dataCalls = try AccountDataCalls(endpoint: broker.clientEndpoint, curve: dataCurve, tokens: tokens)
        dataCallsBox.set(dataCalls)
        let deletion = self.deletion
        sweepTask = Self.every(deletion.sweepInterval) { await deletion.sweep() }
        let jobs = self.jobs
        jobTask = Task {
            while !Task.isCancelled {
                await jobs.scan()
                try? await Task.sleep(for: jobs.scanInterval)
            }
        }
        let blocks = self.blocks
        blockTask = Self.every(blocks.interval) { await blocks.pass() }
        status.setFigures { await FrontDoorStatus.figures(broker.stats()) }
        memoryTask = IdleMemoryRelease.start(broker: broker)
        if let endpoint = configuration.vaultEventsEndpoint {
            let events = try EventSubscriber<KeyEvent>(
                endpoint: endpoint, topics: [KeyEvent.Kind.rotated.rawValue],
                configuration: EventSubscriberConfiguration(recheckInterval: .seconds(60), curve: configuration.vaultCurve, logger: logger))
            self.events = events
            let accounts = self.accounts
            eventTask = Task {
                for await delivery in events.deliveries {
                    if case .event(_, let event) = delivery, event.kind == .rotated {
                        logger.info("KEK rotated; re-wrapping account keys", metadata: ["key": "\(event.key)"])
                        await accounts.rewrapAccounts(using: event.key)
                        await accounts.rewrapScopes(using: event.key)
                    }
                }
            }
        } else {
            events = nil
            eventTask = nil
        }
    }

    /// A background task running `pass` every `interval` (the first after one interval) until cancelled.
    private static func every(_ interval: Duration, _ pass: @escaping @Sendable () async -> Void) -> Task<Void, Never> {
        Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard !Task.isCancelled else { return }
                await pass()
            }
        }
    }

    public var clientEndpoint: String { broker.clientEndpoint }
    public var workerEndpoint: String { broker.workerEndpoint }

    public func close() {
        eventTask?.cancel()
        sweepTask.cancel()
        jobTask.cancel()
        blockTask.cancel()
        dataCalls.close()
        memoryTask.cancel()
        registry.close()
        events?.close()
        broker.close()
        identity.close()
        vault.close()
    }
}
