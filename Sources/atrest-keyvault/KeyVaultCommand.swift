import ArgumentParser
import AtRestClient
import AtRestKeyVault
import AtRestMessaging
import AtRestRuntime
import AtRestServiceKit
import AtRestStatus
import AtRestTokens
import AtRestWire
import Foundation
import Logging

/// `atrest-keyvault`: loads the key-provider plug-ins, serves
/// `atrest.v1.KeyVault/*` with every call authenticated by a bearer token
/// verified offline, publishes key events, and applies the rotation policy
/// on a timer (docs/KEY-PROVIDERS.md).
@main
struct KeyVaultCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "atrest-keyvault",
        abstract: "The AtRest key vault: provider plug-ins, access policy, wrap/unwrap, audit log, key events.")

    @Option(help: "RPC endpoint to bind (tcp://127.0.0.1:* picks a free port).")
    var endpoint = "tcp://127.0.0.1:7410"

    @Option(help: "Key-event PUB endpoint to bind.")
    var eventsEndpoint = "tcp://127.0.0.1:7411"

    @Option(help: "State directory (provider state, vault.state, audit.log, root.key); created if missing.")
    var dataDir: String

    @Option(help: "Where plug-in libraries are looked up (default: $ATREST_BIN_DIR, else next to this executable).")
    var pluginDir: String?

    @Option(help: "Provider to load (repeatable): managed, customer, revoked-test, ctest, or NAME=LIBRARY.")
    var provider: [String] = ["managed", "customer"]

    @Option(help: "Provider config (repeatable): NAME=key=value;key=value, e.g. customer=retention_days=7.")
    var providerConfig: [String] = []

    @Option(help: "The identity service, for its signing keys (Keys) and account lookups.")
    var identityEndpoint = "tcp://127.0.0.1:7420"

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

    @Option(help: "Seconds between audit summaries of unchanged, allowed KeyStatus checks per caller and key (0: audit every check).")
    var keyStatusAuditInterval: Int64 = 900

    @Flag(help: "Do not serve: record why the audit log does not verify as an AuditGap entry, re-anchor it, and exit (run with the vault stopped; docs/KEY-PROVIDERS.md \"Audit log\").")
    var recoverAudit = false

    @Option(help: "With --recover-audit: why (ticket, incident), recorded in the gap entry.")
    var recoverAuditReason = ""

    @Option(help: "Log level (trace, debug, info, notice, warning, error); default $ATREST_LOG_LEVEL or info.")
    var logLevel: String?

    @OptionGroup var curve: CurveServerOptions

    @OptionGroup var curveClient: CurveClientOptions

    @Option(help: "CURVE public key of the identity service (enables CURVE to it; needs --curve-key-file).")
    var identityServerKey: String?

    func run() async throws {
        ProcessStart.service("atrest-keyvault", logLevel: logLevel)
        let logger = Logger(label: "atrest.keyvault")
        let curveConfiguration = try curve.configuration()
        var config = KeyVaultConfig(dataDirectory: dataDir, pluginDirectory: pluginDir,
                                    providers: try ProviderOption.specs(provider, configs: providerConfig))
        config.adminRole = adminRole
        config.auditorRole = auditorRole
        guard keyStatusAuditInterval >= 0 else { throw ValidationError("--key-status-audit-interval must be 0 or more seconds") }
        config.keyStatusAuditInterval = keyStatusAuditInterval
        if recoverAudit { return try recover(config) }

        let publisher = try EventPublisher(
            endpoint: eventsEndpoint, configuration: EventPublisherConfiguration(curve: curveConfiguration, logger: logger))
        let vault: KeyVault
        do {
            vault = try KeyVault(config: config, events: KeyEventHandler { publisher.publish(topic: $0.kind.rawValue, $0) })
        } catch {
            // Plug-in load failures name the file; say it on stderr and exit non-zero.
            publisher.close()
            logger.critical("cannot start", metadata: ["error": "\(error.message)"])
            FileHandle.standardError.write(Data("atrest-keyvault: cannot start: \(error.message)\n".utf8))
            throw error.code == .auditIncomplete ? ExitCode(Self.auditIncompleteExitCode) : ExitCode.failure
        }
        for (name, reason) in vault.providerStatus {
            if let reason { logger.error("provider unavailable", metadata: ["provider": "\(name)", "reason": "\(reason)"]) }
        }

        let identity = IdentityClient(try ServiceClient(
            endpoint: identityEndpoint, timeout: .seconds(5),
            curve: try curveClient.client(serverKey: identityServerKey, flag: "--identity-server-key")))
        let authenticator = try await VaultAuthenticator.make(identity: identity, issuer: issuer, audience: audience, logger: logger)
        let tokens = try credentialsFile.map { file in
            ServiceTokens(identity: identity.base.rpc,
                          credentials: .init(clientID: principal, secret: try CredentialsFile.readSecret(file)))
        }
        let service = KeyVaultService(vault: vault, authenticate: authenticator.callerFor,
                                      resolveAccount: tokens.map { AccountResolver(identity: identity, tokens: $0).resolve })
        let status = ServiceStatus(service: "atrest-keyvault")
        status.setFigures {
            let checks = vault.keyStatusAuditCounts
            return ([StatusFigure("key_status_checks", label: "audited", checks.audited),
                     StatusFigure("key_status_checks", label: "counted", checks.counted),
                     StatusFigure("key_status_summaries", checks.summaries)], [])
        }
        let server = try RPCServer(
            service: StatusService(service.router, status: status), endpoint: endpoint,
            configuration: RPCServerConfiguration(curve: curveConfiguration, logger: logger))

        let interval = max(rotationCheckInterval, 1)
        let sweeper = Task.detached {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(interval))
                if Task.isCancelled { break }
                let rotated = vault.applyRotationPolicy()
                if !rotated.isEmpty { logger.notice("rotation policy rotated keys", metadata: ["count": "\(rotated.count)"]) }
            }
        }
        ReadyLine.announce(name: "atrest-keyvault", endpoint: server.endpoint, extra: [("events", publisher.endpoint)])
        let serving = ServingService(name: "keyvault") {
            sweeper.cancel()
            server.close()
            publisher.close()
            do { try vault.close() } catch { logger.error("anchoring the audit log failed", metadata: ["error": "\(error)"]) }
        }
        try await ServiceRunner.run([serving]) { logger.notice("\($0)") }
    }
}

/// Resolves an account's managed identity with the identity service, as the
/// vault's own service principal.
struct AccountResolver: Sendable {
    let identity: IdentityClient
    let tokens: ServiceTokens

    func resolve(_ account: String) async throws -> (principalID: String, tenant: String) {
        let token = try await tokens.serviceToken().token
        let client = ServiceClient(rpc: identity.base.rpc, token: token, timeout: .seconds(5))
        let found = try await IdentityClient(client).accountIdentity(account: account)
        return (found.principalID, found.tenant)
    }
}
