import ArgumentParser

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
