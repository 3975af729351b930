import ArgumentParser
import AtRestRuntime

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
        guard traceSampleRatio >= 0, traceSampleRatio <= 1 else {
            throw ValidationError("--trace-sample-ratio must be between 0 and 1, not \(traceSampleRatio)")
        }
    }

    /// `--metrics-listen` as a numeric host and a port; nil when the flag is absent.
    public func metricsEndpoint() throws -> (host: String, port: UInt16)? {
        guard let metricsListen else { return nil }
        return try Self.parseHostPort(metricsListen, flag: "--metrics-listen")
    }

    /// "HOST:PORT" or "[IPv6]:PORT" as a host and a port.
    public static func parseHostPort(_ text: String, flag: String) throws -> (host: String, port: UInt16) {
        var host: Substring
        let portText: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw ValidationError("\(flag) '\(text)' is not HOST:PORT") }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw ValidationError("\(flag) '\(text)' is not HOST:PORT") }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        if host.isEmpty { host = "127.0.0.1" }
        guard let port = UInt16(portText) else {
            throw ValidationError("\(flag) '\(text)': the port must be a number from 0 to 65535")
        }
        return (String(host), port)
    }
}

extension LogSetup.Format: ExpressibleByArgument {}
