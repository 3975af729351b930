import ArgumentParser
import AtRestClient
import AtRestNBD
import AtRestNBDGateway
import AtRestRuntime
import AtRestServiceKit
import AtRestMetrics
import AtRestStatus
import AtRestSockets
import AtRestWire
import Foundation
import Logging

/// `atrest-nbd`: serves AtRest disks as NBD exports (docs/OPERATIONS.md
/// "NBD gateway"). Flags → an `NBDServer` over `DiskExport`s → `ServiceMain`;
/// prints `ready atrest-nbd endpoint=nbd://<listen> frontdoor=<endpoint> exports=<names>`.
@main
struct NBDGatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "atrest-nbd", abstract: "Serve AtRest disks over NBD (qemu, nbd-client, libnbd tools).")

    @Option(help: "The front door's client endpoint.") var endpoint = DefaultEndpoints.frontDoor
    @Option(help: "Tenant of the principal the gateway logs in as (empty: the system tenant).") var tenant = ""
    @Option(help: "Principal name or id the gateway logs in as, as `atrest login --user` (a writer of the accounts; a reader will do with --read-only).")
    var user: String
    @Option(help: "File holding the principal's secret; else $ATREST_SECRET.") var secretFile: String?
    @Option(help: "Address to serve NBD on, HOST:PORT (loopback by default; NBD has no authentication or TLS here).")
    var listen = "127.0.0.1:10809"
    @Option(name: .customLong("export"), help: "A disk to serve, ACCOUNT/DISK (repeatable); its NBD export name is ACCOUNT/DISK.")
    var exports: [String] = []
    @Flag(help: "Serve every export read-only (writes, trims and write-zeroes get EPERM).") var readOnly = false
    @Option(help: "NBD requests served at once per connection.") var maxInFlight = 16
    @Option(help: "Calls of gathered small writes (PutPageRanges) in flight at once per export; 0 sends every write as a call of its own.")
    var writeCalls = DiskExport.defaultBatchCalls
    @Option(help: "NBD connections served at once (more are closed when accepted).") var maxConnections = 64
    @Option(help: "Seconds each front-door call may take, retries included.") var timeout: Double = 30
    @Option(help: "CURVE public key (Z85) of the front door; enables CURVE (needs --curve-key-file).") var frontdoorServerKey: String?
    @OptionGroup var curveClient: CurveClientOptions
    @Option(help: "Log level.") var logLevel: String?
    @OptionGroup var observability: ObservabilityOptions

    func validate() throws {
        guard !exports.isEmpty else { throw ValidationError("give at least one --export ACCOUNT/DISK") }
        for export in exports { _ = try DiskExport.parseName(export) }
        guard Set(exports).count == exports.count else { throw ValidationError("an --export is given twice") }
        _ = try ListenAddress.parse(listen)
        guard (1...1024).contains(maxInFlight) else { throw ValidationError("--max-in-flight must be 1-1024") }
        guard (0...64).contains(writeCalls) else { throw ValidationError("--write-calls must be 0-64") }
        guard (1...200).contains(maxConnections) else { throw ValidationError("--max-connections must be 1-200") }
        guard timeout > 0, timeout <= 3600 else { throw ValidationError("--timeout must be 0-3600 s") }
    }

    func run() async throws {
        ProcessStart.service("atrest-nbd", logLevel: logLevel, observability: observability)
        let logger = Logger(label: "atrest.nbd")
        let client = try ServiceClient(endpoint: endpoint, timeout: .milliseconds(Int64(timeout * 1000)),
                                       curve: try curveClient.client(serverKey: frontdoorServerKey, flag: "--frontdoor-server-key"))
        let session: GatewaySession
        do {
            session = try GatewayLogin(tenant: tenant, user: user, secretFile: secretFile).session(client: client)
        } catch {
            client.close()
            throw error
        }
        defer { session.close() }
        try await session.start()
        var served: [DiskExport] = []
        for name in exports {
            let (account, disk) = try DiskExport.parseName(name)
            let export = DiskExport(account: account, disk: disk, readOnly: readOnly, session: session, batchCalls: writeCalls)
            do {
                let size = try await export.size
                logger.info("serving disk '\(name)' (\(size) bytes)\(readOnly ? " read-only" : "")")
            } catch {
                throw NBDGatewayError("cannot serve '\(name)': \(error)")
            }
            served.append(export)
        }
        let (host, port) = try ListenAddress.parse(listen)
        let listener = try TCPListener(host: host, port: port)
        var limits = NBDServerConfiguration()
        limits.maxInFlight = maxInFlight
        limits.maxConnections = maxConnections
        let server = NBDServer(listener: listener, exports: served, configuration: limits, logger: logger)
        let ready = "ready atrest-nbd endpoint=nbd://\(ListenAddress.format(host: host, port: listener.port)) frontdoor=\(endpoint) exports=\(exports.joined(separator: ","))"
        let rpc = client.rpc
        let metrics = try observability.metricsServer(logger: logger) { [await ReadinessCheck.answers("frontdoor", rpc)] }
        try await ServiceMain.run([NBDGatewayService(server: server)] + metrics.services, ready: ready + metrics.readyField, logger: logger)
    }
}
