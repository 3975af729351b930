import ArgumentParser
import AtRestClient
import AtRestFrontDoor
import AtRestMessaging
import AtRestRuntime
import AtRestServiceKit
import AtRestStorage
import AtRestStorageFlags
import AtRestWire
import Logging

/// `atrest-frontdoor`: the public endpoint. Parses flags into a
/// `FrontDoorConfiguration`, builds the `FrontDoor` and runs it under
/// `ServiceMain`; prints
/// `ready atrest-frontdoor endpoint=<clients> workers=<workers>` once it serves.
@main
struct FrontDoorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "atrest-frontdoor", abstract: "AtRest front door: authenticates calls, answers accounts, queues blob work for workers.")

    @Option(help: "Client endpoint to bind.") var endpoint = DefaultEndpoints.frontDoor
    @Option(help: "Worker endpoint to bind.") var workers = DefaultEndpoints.frontDoorWorkers
    @Option(help: "Identity service endpoint.") var identity = DefaultEndpoints.identity
    @Option(help: "Key vault endpoint.") var vault = DefaultEndpoints.vault
    @Option(help: "Key vault event endpoint ('' = none).") var vaultEvents = DefaultEndpoints.vaultEvents
    @Option(help: "Data directory (root key of the account registry).") var dataDir = "data/frontdoor"
    @Option(help: "local: directory of the account registry's local backend, shared by every front door of the cluster (default: <data-dir>/registry-store).")
    var registryStore: String?
    @OptionGroup var storage: StorageOptions
    @Option(help: "Service principal name.") var clientId = "frontdoor"
    @Option(help: "File holding the service principal's secret.") var credentialsFile: String
    @Option(help: "Log level.") var logLevel: String?
    @OptionGroup var observability: ObservabilityOptions
    @OptionGroup var curve: CurveServerOptions
    @Option(help: "Allowed worker public keys (Z85, one per line) for the worker socket; with --curve-secret-key-file (same key pair).")
    var workersCurveAllowFile: String?
    @OptionGroup var curveClient: CurveClientOptions
    @Option(help: "CURVE public key of the identity service (enables CURVE to it).") var identityServerKey: String?
    @Option(help: "CURVE public key of the key vault (RPC and events).") var vaultServerKey: String?
    @Option(help: "Calls one client connection may have waiting or running at once (more: RESOURCE_EXHAUSTED).")
    var maxCallsPerClient = ClientLimits().maxCalls
    @Option(help: "MiB the waiting calls of one client connection may hold.")
    var maxQueuedMibPerClient = ClientLimits().maxQueuedBytes >> 20
    @Option(help: "MiB of replies buffered for a client connection that does not read (sets ZMQ_SNDHWM).")
    var clientBufferMib = ClientLimits().sendBufferBytes >> 20
    @Option(help: "Milliseconds after which replies a client does not read are dropped.")
    var slowClientTimeoutMs = 5000
    @Option(help: "Seconds a deleted account can be recovered before its account key is destroyed (the purge); default 7 days.")
    var accountDeleteGrace: Int64 = 7 * 86_400
    @Option(help: "Seconds after which staged blocks that no committed blob names are removed (uncommitted uploads); default 7 days.")
    var uncommittedBlockRetention: Int64 = 7 * 86_400
    @Option(help: "Seconds between two passes of the uncommitted-block collector over the accounts.")
    var blockCollectionInterval: Int64 = 3600
    @Option(help: "Seconds a call may run at most: a client's longer timeout is cut to this. A re-encryption job waits this (plus 4 s) after a key rotation before it walks the account.")
    var maxCallTime: Int64 = Int64(ClientLimits().maxCallTime.components.seconds)

    func validate() throws {
        if try storage.validated(dataDirectory: dataDir).kind != .local, registryStore != nil {
            throw ValidationError("--registry-store applies to --backend local only (with rados the registry is in the first --pool)")
        }
        for (flag, value) in [("--max-calls-per-client", maxCallsPerClient), ("--max-queued-mib-per-client", maxQueuedMibPerClient),
                              ("--client-buffer-mib", clientBufferMib), ("--slow-client-timeout-ms", slowClientTimeoutMs)]
        where value < 1 {
            throw ValidationError("\(flag) must be at least 1 (got \(value))")
        }
        if uncommittedBlockRetention < 0 || uncommittedBlockRetention > Int64(UInt32.max) {
            throw ValidationError("--uncommitted-block-retention must be 0 to \(UInt32.max) seconds (got \(uncommittedBlockRetention))")
        }
        if blockCollectionInterval < 1 { throw ValidationError("--block-collection-interval must be at least 1 second (got \(blockCollectionInterval))") }
        if maxCallTime < 1 { throw ValidationError("--max-call-time must be at least 1 second (got \(maxCallTime))") }
        if accountDeleteGrace < 0 { throw ValidationError("--account-delete-grace must be 0 or more seconds (got \(accountDeleteGrace))") }
    }

    func run() async throws {
        MemoryTuning.keepLargeBuffers()
        ProcessStart.service("atrest-frontdoor", logLevel: logLevel, observability: observability)
        var configuration = try configuration()
        if storage.backend != "local" {
            // The registry lives in the default pool; every pool is an offered redundancy.
            let pools = try await storage.open(dataDirectory: "")
            configuration.registryBackend = pools.defaultBackend
            configuration.storageClasses = pools.classes
            configuration.logger.info("storage", metadata: ["offered": "\(pools.classes.all.map(\.description).joined(separator: ", "))"])
        }
        let frontDoor = try await FrontDoor(configuration: configuration)
        let metrics = try observability.metricsServer(logger: configuration.logger) { await frontDoor.readiness() }
        if metrics != nil { frontDoor.exportMetrics() }
        try await ServiceMain.run([frontDoor] + metrics.services, ready: frontDoor.readyLine + metrics.readyField, logger: configuration.logger)
    }

    func configuration() throws -> FrontDoorConfiguration {
        let secret = try CredentialsFile.readSecret(credentialsFile)
        var config = FrontDoorConfiguration(
            dataDirectory: dataDir, credentials: .init(clientID: clientId, secret: secret))
        config.registryStoreDirectory = registryStore
        config.clientEndpoint = endpoint
        config.workerEndpoint = workers
        config.identityEndpoint = identity
        config.vaultEndpoint = vault
        config.vaultEventsEndpoint = vaultEvents.isEmpty ? nil : vaultEvents
        config.clientCurve = try curve.configuration()
        if let workersCurveAllowFile {
            guard let clientCurve = config.clientCurve else { throw ValidationError("--workers-curve-allow-file needs --curve-secret-key-file") }
            config.workerCurve = CurveServerConfiguration(keyPair: clientCurve.keyPair,
                                                          allowedClientKeys: try CurveKeyFile.readAllowList(workersCurveAllowFile))
        } else if config.clientCurve != nil {
            throw ValidationError("with CURVE on, --workers-curve-allow-file names the workers allowed in")
        }
        config.identityCurve = try curveClient.client(serverKey: identityServerKey, flag: "--identity-server-key")
        config.vaultCurve = try curveClient.client(serverKey: vaultServerKey, flag: "--vault-server-key")
        config.clientLimits.maxCalls = maxCallsPerClient
        config.clientLimits.maxQueuedBytes = maxQueuedMibPerClient << 20
        config.clientLimits.sendBufferBytes = clientBufferMib << 20
        config.clientLimits.slowClientTimeout = .milliseconds(slowClientTimeoutMs)
        config.accountDeleteGrace = .seconds(accountDeleteGrace)
        config.clientLimits.maxCallTime = .seconds(maxCallTime)
        config.uncommittedBlockRetention = .seconds(uncommittedBlockRetention)
        config.blockCollectionInterval = .seconds(blockCollectionInterval)
        return config
    }
}
