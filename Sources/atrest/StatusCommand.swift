import ArgumentParser
import AtRestStatus
import AtRestWire
import Foundation

/// `atrest status [ENDPOINT...]`: asks each service's `atrest.v1.Status/Get`
/// (front door, vault, identity, or a worker's --status-endpoint) and prints
/// version, uptime, memory, figures and connected workers; no token needed.
/// Exits 5 when any service does not answer, so it doubles as a health check.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show each service's version, uptime, memory, call and error counts, workers (front door), key cache (worker).",
        discussion: "Without ENDPOINT: the configured endpoint (the front door). Exit 5 when a service does not answer.")

    @Argument(help: "Service endpoints to ask (default: --endpoint, the config's, else the front door).")
    var endpoints: [String] = []

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let config = try global.loadConfig()
        let targets = endpoints.isEmpty ? [try global.resolvedEndpoint(config)] : endpoints
        var replies: [(String, StatusReply)] = []
        var failures: [(String, Error)] = []
        for endpoint in targets {
            var options = global
            options.endpoint = endpoint
            let client = try options.client(config, withToken: false)
            defer { client.close() }
            do {
                replies.append((endpoint, try await client.call(StatusMethod.get, StatusRequest(), idempotent: true)))
            } catch {
                failures.append((endpoint, error))
            }
        }
        if global.json {
            let objects = replies.map { Self.json(endpoint: $0.0, $0.1) }
                + failures.map { ["endpoint": $0.0, "error": "\($0.1)"] as [String: Any] }
            let data = try JSONSerialization.data(withJSONObject: objects, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        } else {
            for (index, (endpoint, reply)) in replies.enumerated() {
                if index > 0 { print("") }
                Self.printTable(endpoint: endpoint, reply)
            }
        }
        if let (endpoint, error) = failures.first {
            throw CLIFailure(message: "\(endpoint) did not answer: \(error)", exitCode: ExitCodes.unavailable)
        }
    }

    static func json(endpoint: String, _ reply: StatusReply) -> [String: Any] {
        var figures: [String: Any] = [:]
        for figure in reply.figures {
            figures[figure.label.isEmpty ? figure.name : "\(figure.name) \(figure.label)"] = figure.value
        }
        return [
            "endpoint": endpoint, "service": reply.service, "version": reply.version, "instance": reply.instance,
            "uptimeMs": reply.uptimeMs, "rssKiB": reply.rssKiB, "peakRssKiB": reply.peakRssKiB, "figures": figures,
            "workers": reply.workers.map { ["name": $0.name, "credit": $0.credit, "inFlight": $0.inFlight] as [String: Any] },
        ]
    }

    static func printTable(endpoint: String, _ reply: StatusReply) {
        let output = Output(json: false)
        output.record([
            "service": reply.service, "endpoint": endpoint, "version": reply.version, "instance": reply.instance,
            "uptime": String(format: "%.1f s", Double(reply.uptimeMs) / 1000),
            "memory": "\(reply.rssKiB / 1024) MiB (peak \(reply.peakRssKiB / 1024) MiB)",
        ])
        if !reply.workers.isEmpty {
            print("")
            output.table(["worker", "credit", "in flight"], reply.workers.map { [$0.name, $0.credit, $0.inFlight] })
        }
        if !reply.figures.isEmpty {
            print("")
            output.table(["figure", "label", "value"], reply.figures.map { [$0.name, $0.label, $0.value] })
        }
    }
}
