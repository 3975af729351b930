import ArgumentParser
import AtRestClient
import AtRestKeyVault
import AtRestRuntime
import AtRestServiceKit
import AtRestWire
import Foundation

/// `atrest-keyvault`: loads the key-provider plug-ins, serves
/// `atrest.v1.KeyVault/*` with every call authenticated by a bearer token
/// verified offline, publishes key events, and applies the rotation policy
/// on a timer (docs/KEY-PROVIDERS.md). Parses flags into a
/// `KeyVaultConfiguration`, builds the `KeyVaultServer` (AtRestKeyVault) and
/// runs it under `ServiceMain`.
@main
struct KeyVaultCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "atrest-keyvault",
        abstract: "The AtRest key vault: provider plug-ins, access policy, wrap/unwrap, audit log, key events.")

    @Option(help: "RPC endpoint to bind (tcp://127.0.0.1:* picks a free port).")
    var endpoint = DefaultEndpoints.vault

    @Option(help: "Key-event PUB endpoint to bind.")
    var eventsEndpoint = DefaultEndpoints.vaultEvents

    @Option(help: "State directory (provider state, vault.state, audit.log, root.key); created if missing.")
    var dataDir: String

    @Option(help: "Where plug-in libraries are looked up (default: $ATREST_BIN_DIR, else next to this executable).")
    var pluginDir: String?

    @Option(help: "Provider to load (repeatable): managed, customer, revoked-test, ctest, or NAME=LIBRARY.")
    var provider: [String] = ["managed", "customer"]

    @Option(help: "Provider config (repeatable): NAME=key=value;key=value, e.g. customer=retention_days=7.")
    var providerConfig: [String] = []

    @Option(help: "The identity service, for its signing keys (Keys) and account lookups.")
    var identityEndpoint = DefaultEndpoints.identity

    @Option(help: "Trusted token issuer (default: the one the identity service publishes).")
    var issuer: String?

    @Option(help: "Token audience.")
    var audience = "atrest"

    @Option(help: "This vault's service principal, for AccountIdentity lookups (grants to an account).")
    var principal = "keyvault"

    @Option(help: "Credentials file of --principal (the identity service writes <data>/credentials/keyvault.secret).")
    var credentialsFile: String?

    @Option(help: "Role that manages keys and grants.")
    var adminRole = "keyAdministrator"

    @Option(help: "Role that reads and verifies the audit log (the admin role may too).")
    var auditorRole = "keyAdministrator"

    @Option(help: "Seconds between rotation-policy sweeps (automatic rotation of due keys).")
    var rotationCheckInterval = 3600

    @Option(help: "Seconds in a day of a key's rotation period (tests and drills only: a key with --rotation-days 1 then rotates every N seconds).")
    var rotationDaySeconds: Int64 = 86_400

    @Option(help: "Seconds between audit summaries of unchanged, allowed KeyStatus checks per caller and key (0: audit every check).")
    var keyStatusAuditInterval: Int64 = 900

    @Flag(help: "Do not serve: record why the audit log does not verify as an AuditGap entry, re-anchor it, and exit (run with the vault stopped; docs/KEY-PROVIDERS.md \"Audit log\").")
    var recoverAudit = false

    @Option(help: "With --recover-audit: why (ticket, incident), recorded in the gap entry.")
    var recoverAuditReason = ""

    @Option(help: "Log level (trace, debug, info, notice, warning, error); default $ATREST_LOG_LEVEL or info.")
    var logLevel: String?

    @OptionGroup var observability: ObservabilityOptions
    @OptionGroup var curve: CurveServerOptions

    @OptionGroup var curveClient: CurveClientOptions

    @Option(help: "CURVE public key of the identity service (enables CURVE to it; needs --curve-key-file).")
    var identityServerKey: String?

    func run() async throws {
        ProcessStart.service("atrest-keyvault", logLevel: logLevel, observability: observability)
        let configuration = try configuration()
        if recoverAudit { return try recover(configuration) }
        let vault: KeyVaultServer
        do {
            vault = try await KeyVaultServer.build(configuration, identity: try identity())
        } catch let error as VaultError {
            // Plug-in load failures name the file; say it on stderr and exit non-zero.
            FileHandle.standardError.write(Data("atrest-keyvault: cannot start: \(error.message)\n".utf8))
            throw error.code == .auditIncomplete ? ExitCode(Self.auditIncompleteExitCode) : ExitCode.failure
        }
        let keys = vault.vault
        let metrics = try observability.metricsServer(logger: configuration.logger) { keys.readiness() }
        if metrics != nil { keys.exportMetrics() }
        try await ServiceMain.run([vault] + metrics.services, ready: vault.readyLine + metrics.readyField, logger: configuration.logger)
    }

    func configuration() throws -> KeyVaultConfiguration {
        var config = KeyVaultConfiguration(dataDirectory: dataDir, pluginDirectory: pluginDir,
                                           providers: try ProviderOption.specs(provider, configs: providerConfig))
        config.adminRole = adminRole
        config.auditorRole = auditorRole
        guard keyStatusAuditInterval >= 0 else { throw ValidationError("--key-status-audit-interval must be 0 or more seconds") }
        config.keyStatusAuditInterval = keyStatusAuditInterval
        config.endpoint = endpoint
        config.eventsEndpoint = eventsEndpoint
        config.curve = try curve.configuration()
        config.issuer = issuer
        config.audience = audience
        config.rotationCheckInterval = .seconds(rotationCheckInterval)
        config.rotationDaySeconds = rotationDaySeconds
        return config
    }

    /// The identity service: its key set, and account lookups as --principal when it has credentials.
    func identity() throws -> KeyVaultIdentity {
        try KeyVaultIdentity.connect(
            endpoint: identityEndpoint, curve: try curveClient.client(serverKey: identityServerKey, flag: "--identity-server-key"),
            credentials: try credentialsFile.map { .init(clientID: principal, secret: try CredentialsFile.readSecret($0)) })
    }
}
