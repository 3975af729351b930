import ArgumentParser
import AtRestMetrics
import AtRestSockets
import Logging
import ServiceLifecycle

/// The observability flags every long-running AtRest executable takes
/// (atrest-frontdoor, -worker, -keyvault, -identity, -nbd, `atrest mount`):
/// one option group, so a new flag is added here once
/// (docs/OPERATIONS.md "Metrics and health").
public struct ObservabilityOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Serve GET /metrics (Prometheus text), /healthz and /readyz on this HOST:PORT (numeric host; off when absent).",
        valueName: "host:port"))
    public var metricsListen: String?

    public init() {}

    public func validate() throws { _ = try metricsEndpoint() }

    /// `--metrics-listen` as a numeric host and a port; nil when the flag is absent.
    public func metricsEndpoint() throws -> (host: String, port: UInt16)? {
        guard let metricsListen else { return nil }
        guard let address = HostPort.parse(metricsListen) else {
            throw ValidationError("--metrics-listen '\(metricsListen)' is not HOST:PORT (e.g. 127.0.0.1:9464)")
        }
        return address
    }
}

extension ObservabilityOptions {
    /// The metrics and health listener of `--metrics-listen`, bound now (a bad
    /// or busy address fails start-up); nil when the flag is absent.
    public func metricsServer(logger: Logger, readiness: @escaping Readiness = { [] }) throws -> MetricsServer? {
        guard let (host, port) = try metricsEndpoint() else { return nil }
        do {
            return try MetricsServer(host: host, port: port, readiness: readiness, logger: logger)
        } catch {
            throw ValidationError("--metrics-listen \(metricsListen ?? ""): \(error)")
        }
    }
}

extension Optional where Wrapped == MetricsServer {
    /// The listener as services of the `ServiceGroup` (none when off).
    public var services: [any Service] { map { [$0] } ?? [] }

    /// " metrics=HOST:PORT" for the ready line ("" when off).
    public var readyField: String { map { " metrics=\($0.address)" } ?? "" }
}
