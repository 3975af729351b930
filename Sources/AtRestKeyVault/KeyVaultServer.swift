import AtRestMessaging
import AtRestRuntime
import AtRestStatus
import AtRestWire
import Logging
import ServiceLifecycle

/// The key vault as the executable runs it, buildable by tests: the
/// `KeyVault` (plug-ins, audit log) publishing key events, `KeyVaultService`
/// behind an `RPCServer` (with `atrest.v1.Status/Get`) with every call's
/// bearer token verified offline, and the rotation-policy sweeper.
///
/// It serves from `build` on; `run()` waits for the graceful shutdown, then
/// stops in this order: sweeper, RPC server, event publisher, and last the
/// vault, which anchors the audit log.
public final class KeyVaultServer: Service {
    public let vault: KeyVault
    public let server: RPCServer
    public let publisher: EventPublisher
    private let sweeper: Task<Void, Never>
    private let logger: Logger

    private init(vault: KeyVault, server: RPCServer, publisher: EventPublisher, sweeper: Task<Void, Never>, logger: Logger) {
        self.vault = vault
        self.server = server
        self.publisher = publisher
        self.sweeper = sweeper
        self.logger = logger
    }

    /// Opens the vault and binds its endpoints. A `VaultError` from opening
    /// the vault (a plug-in that does not load, an audit log that does not
    /// verify) is thrown after the publisher is closed again.
    public static func build(_ configuration: KeyVaultConfiguration, identity: KeyVaultIdentity) async throws -> KeyVaultServer {
        let logger = configuration.logger
        let publisher = try EventPublisher(
            endpoint: configuration.eventsEndpoint,
            configuration: EventPublisherConfiguration(curve: configuration.curve, logger: logger))
        let vault: KeyVault
        do {
            vault = try KeyVault(config: configuration, events: KeyEventHandler { publisher.publish(topic: $0.kind.rawValue, $0) })
        } catch {
            publisher.close()
            logger.critical("cannot start", metadata: ["error": "\(error.message)"])
            throw error
        }
        for (name, reason) in vault.providerStatus {
            if let reason { logger.error("provider unavailable", metadata: ["provider": "\(name)", "reason": "\(reason)"]) }
        }
        do {
            let authenticator = try await VaultAuthenticator.make(
                keySet: identity.keySet, issuer: configuration.issuer, audience: configuration.audience, logger: logger)
            let service = KeyVaultService(vault: vault, authenticate: authenticator.callerFor, resolveAccount: identity.resolveAccount)
            let server = try RPCServer(
                service: StatusService(service.router, status: status(of: vault)), endpoint: configuration.endpoint,
                configuration: RPCServerConfiguration(curve: configuration.curve, logger: logger))
            let sweeper = rotationSweeper(vault, every: max(configuration.rotationCheckInterval, .seconds(1)), logger: logger)
            return KeyVaultServer(vault: vault, server: server, publisher: publisher, sweeper: sweeper, logger: logger)
        } catch {
            publisher.close()
            try? vault.close()
            throw error
        }
    }

    public func run() async throws {
        try? await gracefulShutdown()
        sweeper.cancel()
        server.close()
        publisher.close()
        do { try vault.close() } catch { logger.error("anchoring the audit log failed", metadata: ["error": "\(error)"]) }
    }

    /// `ready atrest-keyvault endpoint=<rpc> events=<events>`.
    public var readyLine: String {
        ReadyLine.format(name: "atrest-keyvault", endpoint: server.endpoint, extra: [("events", publisher.endpoint)])
    }

    /// Status/Get figures: the KeyStatus checks audited one by one, counted into summaries, and the summaries.
    private static func status(of vault: KeyVault) -> ServiceStatus {
        let status = ServiceStatus(service: "atrest-keyvault")
        status.setFigures {
            let checks = vault.keyStatusAuditCounts
            return ([StatusFigure("key_status_checks", label: "audited", checks.audited),
                     StatusFigure("key_status_checks", label: "counted", checks.counted),
                     StatusFigure("key_status_summaries", checks.summaries)], [])
        }
        return status
    }

    /// Applies the rotation policy every `interval` until cancelled.
    private static func rotationSweeper(_ vault: KeyVault, every interval: Duration, logger: Logger) -> Task<Void, Never> {
        Task.detached {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                if Task.isCancelled { break }
                let rotated = vault.applyRotationPolicy()
                if !rotated.isEmpty { logger.notice("rotation policy rotated keys", metadata: ["count": "\(rotated.count)"]) }
            }
        }
    }
}
