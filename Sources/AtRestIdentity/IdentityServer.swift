import AtRestMessaging
import AtRestRuntime
import AtRestStatus
import ServiceLifecycle

/// The identity service as the executable runs it: `IdentityService` behind
/// an `RPCServer` (with `atrest.v1.Status/Get`) on `configuration.endpoint`.
/// It serves from `build` on; `run()` waits for the graceful shutdown, then
/// closes the server.
public final class IdentityServer: Service {
    public let service: IdentityService
    public let server: RPCServer

    private init(service: IdentityService, server: RPCServer) {
        self.service = service
        self.server = server
    }

    public static func build(_ configuration: IdentityConfiguration) async throws -> IdentityServer {
        let service = try await IdentityService(config: configuration)
        let server = try RPCServer(
            service: StatusService(service.router, status: ServiceStatus(service: "atrest-identity")),
            endpoint: configuration.endpoint,
            configuration: RPCServerConfiguration(curve: configuration.curve, logger: configuration.logger))
        return IdentityServer(service: service, server: server)
    }

    public func run() async throws {
        try? await gracefulShutdown()
        server.close()
    }

    /// `ready atrest-identity endpoint=<endpoint>`.
    public var readyLine: String { ReadyLine.format(name: "atrest-identity", endpoint: server.endpoint) }
}
