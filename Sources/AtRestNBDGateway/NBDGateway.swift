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
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else {
            throw NBDGatewayError("listen address '\(text)' is not HOST:PORT")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw NBDGatewayError("listen address '\(text)' has no host") }
        return (host, port)
    }

    public static func format(host: String, port: UInt16) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
