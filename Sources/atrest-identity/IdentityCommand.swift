import ArgumentParser
import AtRestIdentity
import AtRestMessaging
import AtRestRuntime
import AtRestServiceKit
import AtRestStatus
import Logging

/// `atrest-identity`: principals, tenants, managed identities and signed
/// tokens on a ROUTER socket (docs/IDENTITY.md). Parses flags, builds
/// `IdentityService`, serves its router, prints the ready line and runs until
/// SIGTERM/SIGINT.
@main
struct IdentityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "atrest-identity",
        abstract: "The AtRest identity service: principals, tenants, managed identities, signed tokens.")

    @Option(help: "Endpoint to bind (tcp://127.0.0.1:* picks a free port).")
    var endpoint = "tcp://127.0.0.1:7420"

    @Option(help: "State directory (identity.state, root.key, credentials/); created if missing.")
    var dataDir: String

    @Option(help: "The iss claim of every token; verifiers learn it from the Keys method.")
    var issuer = "atrest-identity"

    @Option(help: "Token lifetime in seconds.")
    var tokenLifetime: Int64 = 3600

    @Option(name: .customLong("service-principal"),
            help: "Service principal to ensure at start (repeatable); its secret is written once to <data-dir>/credentials/<name>.secret (0600).")
    var servicePrincipals: [String] = []

    @Option(help: "Log level (trace, debug, info, notice, warning, error); default $ATREST_LOG_LEVEL or info.")
    var logLevel: String?

    @OptionGroup var curve: CurveServerOptions

    func validate() throws {
        guard tokenLifetime >= 60, tokenLifetime <= 86_400 * 7 else {
            throw ValidationError("--token-lifetime must be between 60 s and 7 days, got \(tokenLifetime)")
        }
    }

    func run() async throws {
        ProcessStart.service("atrest-identity", logLevel: logLevel)
        let logger = Logger(label: "atrest.identity")
        var config = IdentityServiceConfig(dataDirectory: dataDir)
        config.issuer = issuer
        config.tokenLifetimeSeconds = tokenLifetime
        config.servicePrincipals = servicePrincipals.map { ServicePrincipalSpec(name: $0) }
        let service = try await IdentityService(config: config)
        let server = try RPCServer(
            service: StatusService(service.router, status: ServiceStatus(service: "atrest-identity")), endpoint: endpoint,
            configuration: RPCServerConfiguration(curve: try curve.configuration(), logger: logger))
        ReadyLine.announce(name: "atrest-identity", endpoint: server.endpoint)
        try await ServiceRunner.run([ServingService(name: "identity-rpc") { server.close() }]) { logger.notice("\($0)") }
    }
}
