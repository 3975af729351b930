import ArgumentParser
import AtRestMessaging
import AtRestWire
import Foundation
import Logging

/// `atrest-echo`: an echo peer for messaging tests and benchmarks. Each mode
/// prints one `ready atrest-echo endpoint=…` line once it serves and exits
/// cleanly on SIGTERM/SIGINT (`ServiceMain`).
@main
struct EchoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "atrest-echo",
        abstract: "Echo peer for AtRest messaging tests: an RPC server, a broker, or a worker.",
        subcommands: [ServerMode.self, BrokerMode.self, WorkerMode.self])
}

/// Options every mode shares.
struct CommonOptions: ParsableArguments {
    @Option(help: "Log level (trace, debug, info, notice, warning, error).")
    var logLevel: String = "notice"

    @Option(help: "Milliseconds every call waits before answering (slow calls in tests).")
    var delayMs: UInt32 = 0

    @Flag(help: "Print a 'call <method> <text>' line on stdout when a call starts.")
    var announceCalls = false

    func bootstrap() {
        let level = Logger.Level(rawValue: logLevel) ?? .notice
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

struct ServerMode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "server", abstract: "Serve the echo service directly.")

    @Option(help: "Endpoint to bind.") var endpoint = "tcp://127.0.0.1:*"
    @Option(help: "CURVE server public key (Z85); the secret key comes from $ATREST_ECHO_CURVE_SECRET.")
    var curvePublic: String?
    @Option(help: "Allowed CURVE client public key (Z85); repeat for several.") var allow: [String] = []
    @OptionGroup var common: CommonOptions

    func run() async throws {
        common.bootstrap()
        var configuration = RPCServerConfiguration()
        if let curvePublic {
            guard let secret = ProcessInfo.processInfo.environment["ATREST_ECHO_CURVE_SECRET"] else {
                throw ValidationError("--curve-public needs the secret key in $ATREST_ECHO_CURVE_SECRET")
            }
            configuration.curve = CurveServerConfiguration(
                keyPair: try CurveKeyPair(publicKey: curvePublic, secretKey: secret), allowedClientKeys: Set(allow))
        }
        let server = try RPCServer(
            service: EchoService.router(name: "server", common: common), endpoint: endpoint,
            configuration: configuration)
        try await Ready.serve("endpoint=\(server.endpoint)") { server.close() }
    }
}

struct BrokerMode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "broker", abstract: "Run a broker for echo workers.")

    @Option(help: "Client-facing endpoint.") var endpoint = "tcp://127.0.0.1:*"
    @Option(help: "Worker-facing endpoint.") var workers = "tcp://127.0.0.1:*"
    @Option(help: "Heartbeat interval in milliseconds.") var heartbeatMs = 1000
    @Option(help: "Methods that may be re-queued when a worker dies.")
    var idempotent: [String] = [EchoMethod.echo.name]
    @OptionGroup var common: CommonOptions

    func run() async throws {
        common.bootstrap()
        let idempotentMethods = Set(idempotent)
        let broker = try Broker(
            clientEndpoint: endpoint, workerEndpoint: workers,
            configuration: BrokerConfiguration(
                heartbeatInterval: .milliseconds(heartbeatMs), isIdempotent: { idempotentMethods.contains($0) }))
        try await Ready.serve("endpoint=\(broker.clientEndpoint) workers=\(broker.workerEndpoint)") { broker.close() }
    }
}

struct WorkerMode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "worker", abstract: "Serve echo calls for a broker.")

    @Option(help: "The broker's worker endpoint.") var broker: String
    @Option(help: "Calls run at once (credit announced to the broker).") var credit = 16
    @Option(help: "Heartbeat interval in milliseconds.") var heartbeatMs = 1000
    @Option(help: "Name reported in replies (served_by).") var name = "worker-\(getpid())"
    @OptionGroup var common: CommonOptions

    func run() async throws {
        common.bootstrap()
        let worker = try WorkerRuntime(
            brokerEndpoint: broker, service: EchoService.router(name: name, common: common),
            configuration: WorkerConfiguration(
                credit: credit, heartbeatInterval: .milliseconds(heartbeatMs), workerID: name))
        try await Ready.serve("endpoint=\(broker) name=\(name)") { await worker.drain() }
    }
}
