import AtRestMessaging
import AtRestStorage
import AtRestWire
import Logging

/// A crypto worker as a library: the blob service on the shared object
/// store, connected to the front door's worker endpoint, with its account
/// key cache re-checked on a timer. The executable parses flags and runs this.
public final class CryptoWorker: Sendable {
    public struct Configuration: Sendable {
        public var frontDoorWorkers: String
        public var dataDirectory: String
        public var credit: Int
        public var workerID: String
        public var keyCache: AccountKeyCache.Configuration
        /// How often cached keys are re-checked with the vault (events can be lost).
        public var recheckInterval: Duration
        public var logger: Logger

        public init(frontDoorWorkers: String, dataDirectory: String, credit: Int = 8,
                    workerID: String = "worker-\(UInt32.random(in: .min ... .max))",
                    keyCache: AccountKeyCache.Configuration = .init(), recheckInterval: Duration = .milliseconds(500),
                    logger: Logger = Logger(label: "atrest.worker")) {
            self.frontDoorWorkers = frontDoorWorkers
            self.dataDirectory = dataDirectory
            self.credit = credit
            self.workerID = workerID
            self.keyCache = keyCache
            self.recheckInterval = recheckInterval
            self.logger = logger
        }
    }

    public let keys: AccountKeyCache
    public let store: ObjectStore
    private let runtime: WorkerRuntime
    private let recheck: Task<Void, Never>

    public init(configuration: Configuration, keyVault: AccountKeyVault) throws {
        store = try ObjectStore(directory: configuration.dataDirectory)
        let keys = AccountKeyCache(configuration: configuration.keyCache, logger: configuration.logger) { context in
            try await keyVault.unwrap(context)
        }
        self.keys = keys
        let service = BlobService(store: store, keys: keys, logger: configuration.logger)
        runtime = try WorkerRuntime(
            brokerEndpoint: configuration.frontDoorWorkers, service: service.router,
            configuration: WorkerConfiguration(credit: configuration.credit, workerID: configuration.workerID,
                                               logger: configuration.logger))
        let interval = configuration.recheckInterval
        recheck = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                await keys.recheck()
            }
        }
    }

    /// Stops taking work and finishes the calls in flight.
    public func drain() async {
        recheck.cancel()
        await runtime.drain()
    }

    public func close() {
        recheck.cancel()
        runtime.close()
    }
}
