import ArgumentParser
import AtRestClient
import AtRestCryptoWorker
import AtRestMessaging
import AtRestRuntime
import AtRestServiceKit
import AtRestTokens
import Glibc
import Logging

/// `atrest-worker`: a crypto worker. Connects only; prints
/// `ready atrest-worker endpoint=<front door workers> name=<name>`.
@main
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "atrest-worker", abstract: "AtRest crypto worker: pulls blob work from the front door, encrypts, persists.")

    @Option(help: "The front door's worker endpoint.") var frontdoor = "tcp://127.0.0.1:7401"
    @Option(help: "Identity service endpoint.") var identity = "tcp://127.0.0.1:7420"
    @Option(help: "Key vault endpoint.") var vault = "tcp://127.0.0.1:7410"
    @Option(help: "Key vault event endpoint ('' = none).") var vaultEvents = "tcp://127.0.0.1:7411"
    @Option(help: "The shared object store directory.") var dataDir = "data/objects"
    @Option(help: "Service principal name.") var clientId = "worker"
    @Option(help: "File holding the service principal's secret.") var credentialsFile: String
    @Option(help: "Calls run at once.") var credit = 8
    @Option(help: "Worker name (logs, ready line).") var name = "worker-\(getpid())"
    @Option(help: "Milliseconds between periodic key re-checks with the vault (KeyStatus). Events drop keys at once; a lost event shows as a sequence gap at the vault's next heartbeat (1 s) and re-checks at once.")
    var recheckMs = 5000
    @Option(help: "Endpoint serving atrest.v1.Status/Get ('' = none; workers otherwise only connect).") var statusEndpoint = ""
    @Option(help: "Log level.") var logLevel: String?
    @OptionGroup var curveClient: CurveClientOptions
    @Option(help: "CURVE public key of the front door (enables CURVE to its worker socket).") var frontdoorServerKey: String?
    @Option(help: "CURVE public key of the identity service.") var identityServerKey: String?
    @Option(help: "CURVE public key of the key vault (RPC and events).") var vaultServerKey: String?

    func run() async throws {
        MemoryTuning.keepLargeBuffers()
        ProcessStart.service("atrest-worker", logLevel: logLevel)
        let secret = try CredentialsFile.readSecret(credentialsFile)
        let vaultCurve = try curveClient.client(serverKey: vaultServerKey, flag: "--vault-server-key")
        let identityClient = try RPCClient(endpoint: identity, configuration: RPCClientConfiguration(
            curve: try curveClient.client(serverKey: identityServerKey, flag: "--identity-server-key")))
        let vaultClient = try RPCClient(endpoint: vault, configuration: RPCClientConfiguration(curve: vaultCurve))
        let frontDoorCurve = try curveClient.client(serverKey: frontdoorServerKey, flag: "--frontdoor-server-key")
        let tokens = ServiceTokens(identity: identityClient, credentials: .init(clientID: clientId, secret: secret))
        var configuration = CryptoWorker.Configuration(
            frontDoorWorkers: frontdoor, dataDirectory: dataDir, credit: credit, workerID: name,
            recheckInterval: .milliseconds(recheckMs), vaultEventsEndpoint: vaultEvents.isEmpty ? nil : vaultEvents,
            frontDoorCurve: frontDoorCurve, vaultCurve: vaultCurve, logger: Logger(label: "atrest.worker"))
        configuration.statusEndpoint = statusEndpoint.isEmpty ? nil : statusEndpoint
        let worker = try CryptoWorker(configuration: configuration, keyVault: AccountKeyVault(vault: vaultClient, tokens: tokens))
        ReadyLine.announce(name: "atrest-worker", endpoint: frontdoor,
                           extra: [("name", name)] + (worker.statusEndpoint.map { [("status", $0)] } ?? []))
        let signals = SignalWatcher.start([SIGTERM, SIGINT])
        _ = await signals.next()
        await worker.drain()
    }
}
