import ArgumentParser
import AtRestIdentity
import AtRestRuntime
import AtRestServiceKit
import AtRestWire

/// `atrest-identity`: principals, tenants, managed identities and signed
/// tokens on a ROUTER socket (docs/IDENTITY.md). Parses flags into an
/// `IdentityConfiguration`, builds the `IdentityServer` and runs it under
/// `ServiceMain` until SIGTERM/SIGINT.
@main
struct IdentityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "atrest-identity",
        abstract: "The AtRest identity service: principals, tenants, managed identities, signed tokens.")

    @Option(help: "Endpoint to bind (tcp://127.0.0.1:* picks a free port).")
    var endpoint = DefaultEndpoints.identity

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

    @OptionGroup var observability: ObservabilityOptions
    @OptionGroup var curve: CurveServerOptions

    func validate() throws {
        guard tokenLifetime >= 60, tokenLifetime <= 86_400 * 7 else {
            throw ValidationError("--token-lifetime must be between 60 s and 7 days, got \(tokenLifetime)")
        }
    }

    func run() async throws {
        ProcessStart.service("atrest-identity", logLevel: logLevel, observability: observability)
        let configuration = try configuration()
        let identity = try await IdentityServer.build(configuration)
        // Ready once it serves: the identity service needs nothing else.
        let metrics = try observability.metricsServer(logger: configuration.logger)
        try await ServiceMain.run([identity] + metrics.services, ready: identity.readyLine + metrics.readyField, logger: configuration.logger)
    }

    func configuration() throws -> IdentityConfiguration {
        var config = IdentityConfiguration(dataDirectory: dataDir)
        config.endpoint = endpoint
        config.curve = try curve.configuration()
        config.issuer = issuer
        config.tokenLifetimeSeconds = tokenLifetime
        config.servicePrincipals = servicePrincipals.map { ServicePrincipalSpec(name: $0) }
        return config
    }
}
