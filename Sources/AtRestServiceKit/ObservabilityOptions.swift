import ArgumentParser
import AtRestMetrics
import AtRestRuntime
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

    @Option(help: ArgumentHelp(
        "Log line format on stderr: text, or json (one object per line with time, level, service, message, call_id, trace_id, metadata).",
        valueName: "text|json"))
    public var logFormat: LogSetup.Format?

    @Option(help: ArgumentHelp(
        "Record trace spans as JSON lines appended to this file ('-': stderr); tracing is off when absent.",
        valueName: "path"))
    public var traceFile: String?

    @Option(help: ArgumentHelp(
        "With --trace-file: the share of new traces recorded, 0 to 1 (calls whose traceparent is sampled are always recorded).",
        valueName: "ratio"))
    public var traceSampleRatio: Double = 1.0

    public init() {}

    public func validate() throws {
        _ = try metricsEndpoint()
        guard traceSampleRatio >= 0, traceSampleRatio <= 1 else {
            throw ValidationError("--trace-sample-ratio must be between 0 and 1, not \(traceSampleRatio)")
        }
    }

    /// `--metrics-listen` as a numeric host and a port; nil when the flag is absent.
    public func metricsEndpoint() throws -> (host: String, port: UInt16)? {
        guard let metricsListen else { return nil }
        guard let address = HostPort.parse(metricsListen) else {
            throw ValidationError("--metrics-listen '\(metricsListen)' is not HOST:PORT (e.g. 127.0.0.1:9464)")
        }
        return address
    }
}

extension LogSetup.Format: ExpressibleByArgument {}

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
