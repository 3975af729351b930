import AtRestClient
import AtRestMessaging
import AtRestStorage
import AtRestWire
import Logging

/// Everything the front door needs to start (`FrontDoor(configuration:)`);
/// the executable fills it from its flags, tests in-process.
public struct FrontDoorConfiguration: Sendable {
    public var clientEndpoint: String = DefaultEndpoints.frontDoor
    public var workerEndpoint: String = DefaultEndpoints.frontDoorWorkers
    public var identityEndpoint: String = DefaultEndpoints.identity
    public var vaultEndpoint: String = DefaultEndpoints.vault
    /// The vault's key-event PUB endpoint; nil: no events (timer only).
    public var vaultEventsEndpoint: String? = DefaultEndpoints.vaultEvents
    public var dataDirectory: String
    /// Where the account registry lives (shared by every front door of a
    /// cluster); nil: a `LocalBackend` at `registryStoreDirectory`.
    public var registryBackend: (any StorageBackend)?
    /// The `local` registry backend's directory when `registryBackend` is
    /// nil; nil: `<dataDirectory>/registry-store`.
    public var registryStoreDirectory: String?
    /// How often the registry rereads records changed through other front doors.
    public var registryRefreshInterval: Duration = .seconds(1)
    public var credentials: ServiceTokens.Credentials
    public var issuer: String = "atrest-identity"
    public var audience: String = "atrest"
    public var logger: Logger = Logger(label: "atrest.frontdoor")
    /// CURVE on the client and worker sockets (nil: plain TCP, loopback development).
    public var clientCurve: CurveServerConfiguration?
    public var workerCurve: CurveServerConfiguration?
    /// CURVE to the identity service and the vault (RPC and events).
    public var identityCurve: CurveClientConfiguration?
    public var vaultCurve: CurveClientConfiguration?
    /// Per-client bounds of the public endpoint (docs/OPERATIONS.md "Limits").
    public var clientLimits = ClientLimits()
    /// Where new accounts' objects can live, by redundancy (the first is the
    /// default); the workers must be configured with the same pools.
    public var storageClasses = StorageClasses.local
    /// How long a deleted account can be recovered before its account key
    /// is destroyed (`--account-delete-grace`; docs/DATA-PATH.md "Deleting an account").
    public var accountDeleteGrace: Duration = .seconds(7 * 86_400)

    /// Staged blocks no committed block list names are removed once older
    /// than this (`--uncommitted-block-retention`; 7 days, as the service
    /// AtRest reproduces keeps uncommitted blocks), by a pass every
    /// `blockCollectionInterval` (`--block-collection-interval`).
    public var uncommittedBlockRetention: Duration = .seconds(7 * 86_400)
    public var blockCollectionInterval: Duration = .seconds(3600)

    /// How long after an account key rotation a re-encryption job's walk
    /// begins: the longest call time, two registry refreshes and 2 s
    /// (`AccountReencryptJobs.settleSeconds`).
    public var reencryptSettle: Duration { clientLimits.maxCallTime + registryRefreshInterval * 2 + .seconds(2) }

    public init(dataDirectory: String, credentials: ServiceTokens.Credentials) {
        self.dataDirectory = dataDirectory
        self.credentials = credentials
    }

    /// The registry backend to use: `registryBackend`, or the `local` one.
    func makeRegistryBackend() throws -> any StorageBackend {
        if let registryBackend { return registryBackend }
        return try LocalBackend(directory: registryStoreDirectory ?? "\(dataDirectory)/registry-store")
    }
}
