import AtRestNBD
import AtRestSockets
import Logging
import ServiceLifecycle

/// The NBD server as a `Service` of `ServiceMain`: serves until the
/// graceful shutdown, then stops accepting and reading, answers the
/// requests in flight and returns.
public struct NBDGatewayService: Service {
    public let server: NBDServer

    public init(server: NBDServer) { self.server = server }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await server.run()
        } onGracefulShutdown: {
            server.stop()
        }
    }
}

/// "HOST:PORT" or "[IPv6]:PORT" as a host and port.
public enum ListenAddress {
    public static func parse(_ text: String) throws(NBDGatewayError) -> (host: String, port: UInt16) {
        guard let address = HostPort.parse(text) else { throw NBDGatewayError("listen address '\(text)' is not HOST:PORT") }
        return address
    }

    public static func format(host: String, port: UInt16) -> String { HostPort.format(host: host, port: port) }
}
