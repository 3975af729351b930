import AtRestBackends
import AtRestClient
import AtRestMessaging
import AtRestStorage
import AtRestWire
import Logging

/// Everything a crypto worker needs to start (`CryptoWorker.connect`); the
/// executable fills it from its flags.
public struct CryptoWorkerConfiguration: Sendable {
    public var frontDoorWorkers: String
    /// Where objects are stored: `local` (the `dataDirectory` directory) or
    /// `rados` (its pool, the default storage class) …
    public var storage: BackendConfiguration
    /// … and, for `rados`, more pools: one storage class each (`StoragePools`).
    public var extraPools: [String] = []
    public var dataDirectory: String { storage.directory }
    public var credit: Int
    public var workerID: String
    public var keyCache: AccountKeyCache.Configuration
    /// How often cached keys are re-checked with the vault (events can be lost).
    public var recheckInterval: Duration
    /// The vault's key-event PUB endpoint; nil: timer only.
    public var vaultEventsEndpoint: String?
    /// CURVE to the front door's worker socket and to the vault's event socket (nil: plain TCP).
    public var frontDoorCurve: CurveClientConfiguration?
    public var vaultCurve: CurveClientConfiguration?
    public var logger: Logger
    /// Where `atrest.v1.Status/Get` is served (workers otherwise only
    /// connect); nil: not served.
    public var statusEndpoint: String?
    /// The identity service and the vault, for `CryptoWorker.connect` (the
    /// worker's `AccountKeyVault`), with this worker's service principal.
    public var identityEndpoint: String = DefaultEndpoints.identity
    public var vaultEndpoint: String = DefaultEndpoints.vault
    public var identityCurve: CurveClientConfiguration?
    public var credentials: ServiceTokens.Credentials?

    public init(frontDoorWorkers: String, dataDirectory: String, credit: Int = 8,
                workerID: String = "worker-\(UInt32.random(in: .min ... .max))",
                keyCache: AccountKeyCache.Configuration = .init(), recheckInterval: Duration = .seconds(5),
                vaultEventsEndpoint: String? = nil, frontDoorCurve: CurveClientConfiguration? = nil,
                vaultCurve: CurveClientConfiguration? = nil, logger: Logger = Logger(label: "atrest.worker")) {
        self.frontDoorCurve = frontDoorCurve
        self.vaultCurve = vaultCurve
        self.vaultEventsEndpoint = vaultEventsEndpoint
        self.frontDoorWorkers = frontDoorWorkers
        storage = BackendConfiguration(kind: .local, directory: dataDirectory)
        self.credit = credit
        self.workerID = workerID
        self.keyCache = keyCache
        self.recheckInterval = recheckInterval
        self.logger = logger
    }
}
