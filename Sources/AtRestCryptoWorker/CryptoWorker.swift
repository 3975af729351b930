import AtRestLocalState
import AtRestMessaging
import AtRestStatus
import AtRestStorage
import AtRestWire
import Logging

/// A crypto worker as a library: the blob service on the shared object
/// store, connected to the front door's worker endpoint, with its account
/// key cache re-checked on a timer. The executable parses flags and runs this.
public final class CryptoWorker: Sendable {
    public typealias Configuration = CryptoWorkerConfiguration

    public let keys: AccountKeyCache
    /// The front door's worker endpoint and this worker's name (ready line, logs).
    public let frontDoorWorkers: String
    public let workerID: String
    public let stores: ObjectStores
    public let status: ServiceStatus
    /// The bound status endpoint, when `statusEndpoint` was set.
    public let statusEndpoint: String?
    private let statusServer: RPCServer?
    private let runtime: WorkerRuntime
    private let recheck: Task<Void, Never>
    private let events: EventSubscriber<KeyEvent>?
    private let eventTask: Task<Void, Never>?

    /// The vault this worker unwraps with, and the local store directory (nil with RADOS): `/readyz`.
    let vaultClient: RPCClient
    let localDirectory: String?
    let credit: Int

    public init(configuration: Configuration, keyVault: AccountKeyVault, stores: ObjectStores) throws {
        vaultClient = keyVault.vault
        localDirectory = configuration.storage.kind == .local ? configuration.dataDirectory : nil
        credit = configuration.credit
        frontDoorWorkers = configuration.frontDoorWorkers
        workerID = configuration.workerID
        self.stores = stores
        if configuration.storage.kind == .local {
            // Top level only: the store creates everything below 0700/0600, and a walk of every object costs too much.
            try FileAccess.requirePrivateTree(configuration.dataDirectory, what: "worker data directory", depth: 0)
        }
        let keys = AccountKeyCache(configuration: configuration.keyCache, logger: configuration.logger,
                                   unwrap: { try await keyVault.unwrap($0) }, check: { try await keyVault.check($0) })
        self.keys = keys
        let service = BlobService(stores: stores, keys: keys, logger: configuration.logger)
        let status = ServiceStatus(service: "atrest-worker", instance: configuration.workerID)
        self.status = status
        status.setFigures {
            let figures = await [
                StatusFigure("key_cache_hits", UInt64(keys.hitCount)), StatusFigure("key_unwraps", UInt64(keys.unwrapCount)),
                StatusFigure("key_cache_drops", UInt64(keys.dropCount)), StatusFigure("key_events", UInt64(keys.eventCount)),
                StatusFigure("cached_accounts", UInt64(keys.cachedAccounts.count)),
            ]
            return (figures, [])
        }
        if let endpoint = configuration.statusEndpoint {
            let server = try RPCServer(service: StatusService(RPCRouter(), status: status), endpoint: endpoint,
                                       configuration: RPCServerConfiguration(logger: configuration.logger))
            statusServer = server
            statusEndpoint = server.endpoint
        } else {
            statusServer = nil
            statusEndpoint = nil
        }
        runtime = try WorkerRuntime(
            brokerEndpoint: configuration.frontDoorWorkers, service: StatusService(Self.router(service, keyVault: keyVault), status: status),
            configuration: WorkerConfiguration(credit: configuration.credit, workerID: configuration.workerID,
                                               curve: configuration.frontDoorCurve, logger: configuration.logger))
        let interval = configuration.recheckInterval
        recheck = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                await keys.recheck()
            }
        }
        if let endpoint = configuration.vaultEventsEndpoint {
            let events = try EventSubscriber<KeyEvent>(
                endpoint: endpoint,
                configuration: EventSubscriberConfiguration(curve: configuration.vaultCurve, logger: configuration.logger))
            self.events = events
            eventTask = Task { await Self.follow(events, keys: keys) }
        } else {
            events = nil
            eventTask = nil
        }
    }

    /// Drops cached keys at once on any event that can make a key unusable
    /// (or replace its wrapping); re-checks everything when events may have been lost.
    /// The data-plane methods a worker serves: blobs, queues, tables, disks and file shares.
    static func router(_ blobs: BlobService, keyVault: AccountKeyVault? = nil) -> RPCRouter {
        var router = blobs.router
        let queues = QueueService(blobs: blobs), tables = TableService(blobs: blobs)
        let disks = DiskService(blobs: blobs), files = FileService(blobs: blobs)
        queues.register(on: &router)
        tables.register(on: &router)
        disks.register(on: &router)
        files.register(on: &router)
        AccountDataService(blobs: blobs, queues: queues, tables: tables, disks: disks, files: files, keyVault: keyVault).register(on: &router)
        return router
    }

    static func follow(_ events: EventSubscriber<KeyEvent>, keys: AccountKeyCache) async {
        let dropping: Set<KeyEvent.Kind> = [.disabled, .deleted, .purged, .accessRevoked, .rotated]
        for await delivery in events.deliveries {
            if case .event = delivery { await keys.noteEvent() }
            switch delivery {
            case .event(_, let event) where dropping.contains(event.kind):
                let received = ContinuousClock.now
                await keys.drop(provider: event.key.provider, keyID: event.key.keyID)
                KeyEnforcementMetric.record(ContinuousClock.now - received)
            case .recheck:
                await keys.recheck()
            default:
                break
            }
        }
    }

    /// Stops taking work and finishes the calls in flight.
    public func drain() async {
        recheck.cancel()
        eventTask?.cancel()
        events?.close()
        await runtime.drain()
        statusServer?.close()
    }

    public func close() {
        recheck.cancel()
        eventTask?.cancel()
        events?.close()
        runtime.close()
        statusServer?.close()
    }
}
