import ArgumentParser
import AtRestClient
import AtRestCryptoWorker
import AtRestRuntime
import AtRestServiceKit
import AtRestStorage
import AtRestStorageFlags
import AtRestWire
import Glibc
import Logging

/// `atrest-worker`: a crypto worker. Parses flags into a
/// `CryptoWorkerConfiguration`, connects (`CryptoWorker.connect`) and runs it
/// under `ServiceMain`; prints
/// `ready atrest-worker endpoint=<front door workers> name=<name>`.
@main
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "atrest-worker", abstract: "AtRest crypto worker: pulls blob work from the front door, encrypts, persists.")

    @Option(help: "The front door's worker endpoint.") var frontdoor = DefaultEndpoints.frontDoorWorkers
    @Option(help: "Identity service endpoint.") var identity = DefaultEndpoints.identity
    @Option(help: "Key vault endpoint.") var vault = DefaultEndpoints.vault
    @Option(help: "Key vault event endpoint ('' = none).") var vaultEvents = DefaultEndpoints.vaultEvents
    @OptionGroup var storage: StorageOptions
    @Option(help: "local: the shared object store directory.") var dataDir = "data/objects"
    @Option(help: "Service principal name.") var clientId = "worker"
    @Option(help: "File holding the service principal's secret.") var credentialsFile: String
    @Option(help: "Calls run at once.") var credit = 8
    @Option(help: "Worker name (logs, ready line).") var name = "worker-\(getpid())"
    @Option(help: "Milliseconds between periodic key re-checks with the vault (KeyStatus). Events drop keys at once; a lost event shows as a sequence gap at the vault's next heartbeat (1 s) and re-checks at once.")
    var recheckMs = 5000
    @Option(help: "Endpoint serving atrest.v1.Status/Get ('' = none; workers otherwise only connect).") var statusEndpoint = ""
    @Option(help: "Log level.") var logLevel: String?
    @OptionGroup var observability: ObservabilityOptions
    @OptionGroup var curveClient: CurveClientOptions
    @Option(help: "CURVE public key of the front door (enables CURVE to its worker socket).") var frontdoorServerKey: String?
    @Option(help: "CURVE public key of the identity service.") var identityServerKey: String?
    @Option(help: "CURVE public key of the key vault (RPC and events).") var vaultServerKey: String?

    func validate() throws {
        _ = try storage.validated(dataDirectory: dataDir)
    }

    func run() async throws {
        MemoryTuning.keepLargeBuffers()
        ProcessStart.service("atrest-worker", logLevel: logLevel, observability: observability)
        let logger = Logger(label: "atrest.worker")
        let worker = try await CryptoWorker.connect(configuration: try configuration(logger))
        let metrics = try observability.metricsServer(logger: logger) { await worker.readiness() }
        if metrics != nil { worker.exportMetrics() }
        try await ServiceMain.run([worker] + metrics.services, ready: worker.readyLine + metrics.readyField, logger: logger)
    }

    func configuration(_ logger: Logger) throws -> CryptoWorkerConfiguration {
        var configuration = CryptoWorkerConfiguration(
            frontDoorWorkers: frontdoor, dataDirectory: dataDir, credit: credit, workerID: name,
            recheckInterval: .milliseconds(recheckMs), vaultEventsEndpoint: vaultEvents.isEmpty ? nil : vaultEvents,
            frontDoorCurve: try curveClient.client(serverKey: frontdoorServerKey, flag: "--frontdoor-server-key"),
            vaultCurve: try curveClient.client(serverKey: vaultServerKey, flag: "--vault-server-key"), logger: logger)
        configuration.storage = try storage.configuration(dataDirectory: dataDir)
        configuration.extraPools = Array(storage.pool.dropFirst())
        configuration.statusEndpoint = statusEndpoint.isEmpty ? nil : statusEndpoint
        configuration.identityEndpoint = identity
        configuration.vaultEndpoint = vault
        configuration.identityCurve = try curveClient.client(serverKey: identityServerKey, flag: "--identity-server-key")
        configuration.credentials = .init(clientID: clientId, secret: try CredentialsFile.readSecret(credentialsFile))
        return configuration
    }
}
