import AtRestMessaging
import AtRestMetrics
import AtRestWire

extension ReadinessCheck {
    /// `name` is ready when the service behind `client` answers
    /// `atrest.v1.Status/Get` within `timeout` (`/readyz` of the services that call it).
    public static func answers(_ name: String, _ client: RPCClient, timeout: Duration = .seconds(2)) async -> ReadinessCheck {
        await probe(name) {
            _ = try await client.call(StatusMethod.get.name, request: StatusRequest(), as: StatusReply.self, timeout: timeout)
        }
    }
}
