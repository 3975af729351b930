import AtRestTesting
import AtRestWire
import Foundation
import Testing

/// Traces and JSON logs through a real cluster (docs/OPERATIONS.md "Traces", "Logs"):
/// every service with `--trace-file` and `--log-format json`, one put sent with a
/// `traceparent`.
@Suite(.serialized) struct TracingTests {
    static let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
    static let clientSpan = "00f067aa0ba902b7"

    @Test func onePutIsOneTraceAcrossFrontDoorWorkerAndVault() async throws {
        var options = LocalCluster.deployClusterOptions()
        let root = LocalCluster.temporaryDirectory("atrest-trace")
        try FileManager.default.createDirectory(atPath: root + "/logs", withIntermediateDirectories: true)
        options.root = root
        options.stderrDirectory = root + "/logs"
        for (service, name) in [(LocalClusterOptions.Service.identity, "identity"), (.vault, "vault"), (.frontDoor, "frontdoor"), (.worker, "worker")] {
            options.extraArguments[service] = ["--trace-file", "\(root)/logs/\(name).trace", "--log-format", "json", "--log-level", "debug"]
        }
        let cluster = try LocalCluster(options)
        defer {
            cluster.stop()
            try? FileManager.default.removeItem(atPath: root)
        }
        try cluster.addWorker("w-boot")
        try await cluster.waitForWorkers(["w-boot"])
        let accounts = try await cluster.bootstrap(accounts: ["acct-t"])
        // A fresh worker: its key cache is cold, so the put asks the vault.
        cluster.drainWorker("w-boot")
        try cluster.addWorker("w-trace")
        try await cluster.waitForWorkers(["w-trace"])
        let traceparent = "00-\(Self.traceID)-\(Self.clientSpan)-01"
        let data = [UInt8](repeating: 42, count: 10_000)
        try await cluster.put("zq7-blob", data, accounts["acct-t"]!.merging(["traceparent": traceparent]) { $1 })

        let spans = try Self.spans(in: root + "/logs").filter { $0["trace_id"] as? String == Self.traceID }
        func one(_ service: String, _ name: String) throws -> [String: Any] {
            let found = spans.filter { $0["service"] as? String == service && $0["name"] as? String == name }
            try #require(found.count == 1, "\(found.count) spans '\(name)' from \(service) in trace: \(spans.map { "\($0["service"]!) \($0["name"]!)" })")
            return found[0]
        }
        func id(_ span: [String: Any]) -> String { span["span_id"] as? String ?? "?" }
        func parent(_ span: [String: Any]) -> String { span["parent_span_id"] as? String ?? "none" }

        let frontCall = try one("atrest-frontdoor", BlobMethod.put.name)
        #expect(parent(frontCall) == Self.clientSpan && frontCall["kind"] as? String == "server")
        #expect(parent(try one("atrest-frontdoor", "authorization")) == id(frontCall))
        let queueing = try one("atrest-frontdoor", "queueing")
        #expect(parent(queueing) == id(frontCall))
        let workerCall = try one("atrest-worker", BlobMethod.put.name)
        #expect(parent(workerCall) == id(queueing))
        #expect((workerCall["attributes"] as? [String: Any])?["rpc.status_code"] as? Int == 0)
        let keyLookup = try one("atrest-worker", "key lookup")
        #expect(parent(keyLookup) == id(workerCall))
        let unwrap = try one("atrest-worker", "unwrap")
        #expect(parent(unwrap) == id(keyLookup))
        #expect(parent(try one("atrest-worker", "seal")) == id(workerCall))
        #expect(parent(try one("atrest-worker", "storage write")) == id(workerCall))
        let vaultSpans = spans.filter { $0["service"] as? String == "atrest-keyvault" }
        #expect(!vaultSpans.isEmpty && vaultSpans.allSatisfy { parent($0) == id(unwrap) && $0["kind"] as? String == "server" },
                "vault spans: \(vaultSpans)")
        // Every span of the trace hangs from the client's span or another span of it.
        let ids = Set(spans.map(id)).union([Self.clientSpan])
        #expect(spans.allSatisfy { ids.contains(parent($0)) })
        // Start and end times are ordered.
        #expect(spans.allSatisfy { ($0["start_unix_nano"] as? UInt64 ?? 1) <= ($0["end_unix_nano"] as? UInt64 ?? 0) })

        // A caller's unsampled trace is recorded nowhere; a call without a
        // traceparent starts a trace at the front door (ratio 1.0) that the worker joins.
        let unsampledTrace = "5c0ffee05c0ffee05c0ffee05c0ffee0"
        try await cluster.put("zq7-blob", data, accounts["acct-t"]!.merging(["traceparent": "00-\(unsampledTrace)-\(Self.clientSpan)-00"]) { $1 })
        try await cluster.put("zq7-blob", data, accounts["acct-t"]!)
        let all = try Self.spans(in: root + "/logs")
        #expect(!all.contains { $0["trace_id"] as? String == unsampledTrace })
        let untracedPuts = all.filter {
            $0["service"] as? String == "atrest-worker" && $0["name"] as? String == BlobMethod.put.name && $0["trace_id"] as? String != Self.traceID
        }
        #expect(untracedPuts.count == 1)
        for put in untracedPuts {
            let trace = all.filter { $0["trace_id"] as? String == put["trace_id"] as? String }
            let queue = trace.first { $0["span_id"] as? String == parent(put) }
            #expect(queue?["name"] as? String == "queueing" && queue?["service"] as? String == "atrest-frontdoor")
            let traceRoot = trace.first { $0["span_id"] as? String == queue.map(parent) }
            #expect(traceRoot?["name"] as? String == BlobMethod.put.name && traceRoot?["parent_span_id"] == nil)
        }

        // JSON logs: every line of every service parses, has the fields, and
        // the worker's line for the put carries its call id and trace id.
        let logs = try Self.jsonLines(in: root + "/logs", suffix: ".log")
        for service in ["atrest-identity", "atrest-keyvault", "atrest-frontdoor", "atrest-worker"] {
            #expect(logs.contains { $0["service"] as? String == service }, "no JSON log line from \(service)")
        }
        for line in logs {
            #expect(line["time"] is String && line["level"] is String && line["message"] is String && line["metadata"] is [String: Any])
        }
        let putLines = logs.filter { $0["service"] as? String == "atrest-worker" && $0["message"] as? String == "call done"
            && ($0["metadata"] as? [String: Any])?["method"] as? String == BlobMethod.put.name }
        #expect(putLines.count == 3)
        let putLine = try #require(putLines.first { $0["trace_id"] as? String == Self.traceID })
        #expect((putLine["call_id"] as? String)?.count == 32)
        #expect(putLine["trace_id"] as? String == Self.traceID)
        #expect(logs.filter { $0["message"] as? String == "call done" }.allSatisfy { ($0["call_id"] as? String)?.isEmpty == false })

        // No token, secret or blob name in logs or traces.
        let token = try #require(accounts["acct-t"]?["authorization"]).replacingOccurrences(of: "Bearer ", with: "")
        let signature = String(token.split(separator: ".").last ?? "")
        for file in try FileManager.default.contentsOfDirectory(atPath: root + "/logs") {
            let text = try String(contentsOfFile: "\(root)/logs/\(file)", encoding: .utf8)
            #expect(!text.contains(token) && !text.contains(signature), "\(file) holds the bearer token")
            #expect(!text.contains("ops-secret-123456"), "\(file) holds a password")
            #expect(!text.contains("zq7-blob"), "\(file) names the blob")
        }
    }

    /// Every JSON line of the `.trace` files under `directory`.
    static func spans(in directory: String) throws -> [[String: Any]] {
        try jsonLines(in: directory, suffix: ".trace")
    }

    static func jsonLines(in directory: String, suffix: String) throws -> [[String: Any]] {
        var objects: [[String: Any]] = []
        for file in try FileManager.default.contentsOfDirectory(atPath: directory) where file.hasSuffix(suffix) {
            let text = try String(contentsOfFile: "\(directory)/\(file)", encoding: .utf8)
            for line in text.split(separator: "\n") {
                let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                #expect(object != nil, "\(file): not a JSON object: \(line.prefix(200))")
                if let object { objects.append(object) }
            }
        }
        return objects
    }
}
