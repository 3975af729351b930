import AtRestClient
import AtRestSockets
import AtRestTesting
import AtRestWire
import Foundation
import Testing

/// `--metrics-listen` on every service of a real cluster: /metrics parsed by
/// Python's prometheus_client (a parser that is not ours), counters that move
/// by what a workload did, /readyz following the vault, and bad HTTP input
/// refused while the service stays up (docs/OPERATIONS.md "Metrics and health").
@Suite(.serialized) struct MetricsEndpointTests {
    static let listen = ["--metrics-listen", "127.0.0.1:0"]

    static func cluster() throws -> LocalCluster {
        var options = LocalCluster.deployClusterOptions()
        options.extraArguments = [.identity: listen, .vault: listen, .frontDoor: listen, .worker: listen]
        return try LocalCluster(options)
    }

    @Test func everyServiceCountsAWorkloadInPrometheusFormat() async throws {
        try requirePrometheusClient()
        let cluster = try Self.cluster()
        defer { cluster.stop() }
        let worker = try cluster.addWorker("w-metrics")
        try await cluster.waitForWorkers(["w-metrics"])
        let accounts = try await cluster.bootstrap(accounts: ["acct-metrics"])
        let account = accounts["acct-metrics"]!
        let data = [UInt8](repeating: 5, count: 4096)
        let puts = 7
        for i in 0..<puts { try await cluster.put("m\(i)", data, account) }
        await #expect(throws: RPCStatus.self) { _ = try await cluster.get("missing", account) }

        let workerMetrics = try Scrape(try #require(worker.fields["metrics"]))
        let put = ["method": BlobMethod.put.name]
        #expect(workerMetrics.value("atrest_rpc_calls_total", put.merging(["code": "OK"]) { $1 }) == Double(puts))
        #expect(workerMetrics.value("atrest_rpc_call_duration_seconds_count", put) == Double(puts))
        #expect(workerMetrics.value("atrest_rpc_request_bytes_total", put) >= Double(puts * data.count))
        #expect(workerMetrics.value("atrest_rpc_calls_total", ["method": BlobMethod.get.name, "code": "NOT_FOUND"]) == 1)
        #expect(workerMetrics.value("atrest_key_cache_hits_total") + workerMetrics.value("atrest_key_cache_misses_total") >= Double(puts))
        #expect(workerMetrics.value("atrest_key_cache_misses_total") >= 1)
        #expect(workerMetrics.value("atrest_store_fsync_duration_seconds_count", ["kind": "data"]) >= Double(puts))
        #expect(workerMetrics.value("atrest_store_write_duration_seconds_count") >= Double(puts))
        #expect(workerMetrics.value("atrest_worker_credit_calls") == 4)

        let front = try Scrape(try #require(cluster.frontDoor.fields["metrics"]))
        #expect(front.value("atrest_broker_workers") == 1)
        #expect(front.value("atrest_broker_worker_credit_calls", ["worker": "w-metrics"]) == 4)
        #expect(front.value("atrest_broker_replies_total", ["code": "OK"]) >= Double(puts))
        #expect(front.value("atrest_broker_replies_total", ["code": "NOT_FOUND"]) == 1)
        #expect(front.value("atrest_rpc_calls_total", ["method": "atrest.v1.Account/Create", "code": "OK"]) == 1)
        // Data calls as the front door saw them (queueing included).
        #expect(front.value("atrest_frontdoor_calls_total", put.merging(["code": "OK"]) { $1 }) == Double(puts))
        #expect(front.value("atrest_frontdoor_call_duration_seconds_count", put) == Double(puts))
        #expect(front.value("atrest_frontdoor_request_bytes_total", put) >= Double(puts * data.count))

        let vault = try Scrape(try #require(cluster.vault.fields["metrics"]))
        // The worker unwrapped the account key at least once; every label is a bounded name.
        #expect(vault.value("atrest_vault_operations_total", ["operation": KeyVaultMethod.unwrap.verb, "provider": "managed", "result": "ok"]) >= 1)
        #expect(vault.value("atrest_vault_providers_available") == 2)
        let identity = try Scrape(try #require(cluster.identity.fields["metrics"]))
        #expect(identity.value("atrest_rpc_calls_total", ["method": "atrest.v1.Identity/Login", "code": "OK"]) >= 2)

        for scrape in [workerMetrics, front, vault, identity] {
            #expect(scrape.value("atrest_process_resident_memory_bytes") > 0)
            // No account, object or token shows in a label or anywhere else.
            for secret in ["acct-metrics", "Bearer", "ops-secret", "m0"] {
                #expect(!scrape.text.contains(secret), "a scrape shows '\(secret)'")
            }
        }
        // A second scrape sees the counters where the workload left them (no double counting by the collectors).
        let again = try Scrape(try #require(cluster.frontDoor.fields["metrics"]))
        #expect(again.value("atrest_broker_replies_total", ["code": "NOT_FOUND"]) == 1)

        // A key disabled: the vault counts the operation, the worker receives the event and enforces it.
        let key = KeyRef(provider: "customer", keyID: "metrics-key")
        _ = try await cluster.adminIdentity().grantRole(IdentityRoleRequest(tenant: "t1", name: "ops", role: "keyAdministrator"))
        let keyAdmin = try await cluster.login(tenant: "t1", "ops", "ops-secret-123456")
        _ = try await cluster.client.call("atrest.v1.KeyVault/CreateKey", request: CreateKeyRequest(provider: "customer", spec: KeySpec(keyID: "metrics-key")),
                                          as: KeyResponse.self, metadata: keyAdmin)
        _ = try await cluster.client.call("atrest.v1.KeyVault/DisableKey", request: KeyRequest(key), as: KeyResponse.self, metadata: keyAdmin)
        let afterDisable = try Scrape(try #require(cluster.vault.fields["metrics"]))
        #expect(afterDisable.value("atrest_vault_operations_total", ["operation": "DisableKey", "provider": "customer", "result": "ok"]) == 1)
        var enforced = 0.0
        for _ in 0..<100 where enforced < 1 {
            enforced = try Scrape(try #require(worker.fields["metrics"])).value("atrest_key_cache_enforcement_duration_seconds_count")
            if enforced < 1 { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(enforced >= 1, "the worker never enforced the disable event")
        #expect(try Scrape(try #require(worker.fields["metrics"])).value("atrest_key_cache_events_received_total") >= 1)
    }

    @Test func sigusr1PausesRecordingAndSigusr2ResumesIt() async throws {
        try requirePrometheusClient()
        let cluster = try Self.cluster()
        defer { cluster.stop() }
        let worker = try cluster.addWorker("w-pause")
        try await cluster.waitForWorkers(["w-pause"])
        let account = try await cluster.bootstrap(accounts: ["acct-pause"])["acct-pause"]!
        let data = [UInt8](repeating: 9, count: 4096)
        let front = try #require(cluster.frontDoor.fields["metrics"]), workerAddress = try #require(worker.fields["metrics"])
        let services = [(cluster.frontDoor.pid, front), (worker.pid, workerAddress), (cluster.vault.pid, try #require(cluster.vault.fields["metrics"]))]
        let put = ["method": BlobMethod.put.name, "code": "OK"]
        func counts() throws -> (front: Double, worker: Double, writes: Double) {
            let workerScrape = try Scrape(workerAddress)
            return (try Scrape(front).value("atrest_frontdoor_calls_total", put), workerScrape.value("atrest_rpc_calls_total", put),
                    workerScrape.value("atrest_store_write_duration_seconds_count"))
        }
        /// Signals every service and waits until each one's scrape shows the new state.
        func signal(_ number: Int32, recording: Double) async throws {
            for (pid, address) in services {
                #expect(kill(pid, number) == 0)
                var shown = -1.0
                for _ in 0..<100 where shown != recording {
                    shown = try Scrape(address).value("atrest_metrics_recording")
                    if shown != recording { try await Task.sleep(for: .milliseconds(50)) }
                }
                #expect(shown == recording, "\(address) shows atrest_metrics_recording \(shown)")
            }
        }

        #expect(try Scrape(front).value("atrest_metrics_recording") == 1)
        for i in 0..<3 { try await cluster.put("p\(i)", data, account) }
        let before = try counts()
        #expect(before.front == 3 && before.worker == 3 && before.writes >= 3)

        try await signal(SIGUSR1, recording: 0)
        for i in 3..<7 { try await cluster.put("p\(i)", data, account) }
        let paused = try counts()
        #expect(paused.front == 3 && paused.worker == 3 && paused.writes == before.writes, "recorded while paused: \(paused)")
        try await signal(SIGUSR1, recording: 0)  // a second pause changes nothing

        try await signal(SIGUSR2, recording: 1)
        for i in 7..<9 { try await cluster.put("p\(i)", data, account) }
        let resumed = try counts()
        #expect(resumed.front == 5 && resumed.worker == 5 && resumed.writes >= before.writes + 2)
        for i in 0..<9 { #expect(try await cluster.get("p\(i)", account) == data) }
        for (pid, _) in services { #expect(kill(pid, 0) == 0, "a service left after SIGUSR1/SIGUSR2") }
    }

    @Test func readinessFollowsTheVault() async throws {
        let cluster = try Self.cluster()
        defer { cluster.stop() }
        let worker = try cluster.addWorker("w-ready")
        try await cluster.waitForWorkers(["w-ready"])
        let front = try #require(cluster.frontDoor.fields["metrics"])
        let workerAddress = try #require(worker.fields["metrics"])
        #expect(try await HTTP.get(front, "/readyz").status == 200)
        #expect(try await HTTP.get(workerAddress, "/readyz").status == 200)
        #expect(try await HTTP.get(try #require(cluster.vault.fields["metrics"]), "/readyz").status == 200)
        #expect(try await HTTP.get(try #require(cluster.identity.fields["metrics"]), "/readyz").status == 200)

        cluster.vault.kill()
        let down = try await HTTP.waitFor(front, "/readyz", status: 503)
        #expect(down.body.contains("failed vault") && down.body.contains("ok identity") && down.body.contains("ok workers"))
        #expect(try await HTTP.waitFor(workerAddress, "/readyz", status: 503).body.contains("failed vault"))
        #expect(try await HTTP.get(front, "/healthz").status == 200, "not ready is still alive")

        try cluster.restartVault()
        #expect(try await HTTP.waitFor(front, "/readyz", status: 200).body.hasPrefix("ready"))
        #expect(try await HTTP.waitFor(workerAddress, "/readyz", status: 200).body.hasPrefix("ready"))
    }

    @Test func badHTTPInputIsRefusedAndTheServiceStaysUp() async throws {
        let cluster = try Self.cluster()
        defer { cluster.stop() }
        let address = try #require(cluster.identity.fields["metrics"])
        #expect(try await HTTP.raw(address, Array("garbage\r\n\r\n".utf8)).hasPrefix("HTTP/1.1 400"))
        #expect(try await HTTP.raw(address, Array("GET /metrics HTTP/9.9\r\n\r\n".utf8)).hasPrefix("HTTP/1.1 400"))
        #expect(try await HTTP.raw(address, Array("GET metrics HTTP/1.1\r\n\r\n".utf8)).hasPrefix("HTTP/1.1 400"))
        #expect(try await HTTP.raw(address, [0xff, 0xfe, 0x00, 0x0d, 0x0a, 0x0d, 0x0a]).hasPrefix("HTTP/1.1 400"))
        #expect(try await HTTP.raw(address, Array("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n".utf8)).hasPrefix("HTTP/1.1 405"))
        #expect(try await HTTP.get(address, "/metrics/../secrets").status == 404)
        #expect(try await HTTP.get(address, "/").status == 404)
        // A head larger than 8 KiB is answered 431 (or the connection is reset before the answer is read).
        let huge = try? await HTTP.raw(address, Array("GET /metrics HTTP/1.1\r\nX-Fill: ".utf8) + [UInt8](repeating: 0x61, count: 20_000))
        #expect(huge == nil || huge!.hasPrefix("HTTP/1.1 431") || huge!.isEmpty)
        // Connections that send nothing hold at most the cap; one more is closed at once, and
        // once they are gone (or time out) the endpoint answers again.
        var idle: [TCPConnection] = []
        for _ in 0..<4 { idle.append(try await TCPConnection.connect(host: "127.0.0.1", port: HTTP.port(address))) }
        let extra = try await TCPConnection.connect(host: "127.0.0.1", port: HTTP.port(address))
        await #expect(throws: SocketError.self) { _ = try await extra.readSome(maxCount: 16) }
        extra.close()
        for connection in idle { connection.close() }
        #expect(try await HTTP.waitFor(address, "/healthz", status: 200).body == "ok\n")
        // The service itself never noticed: it still serves its RPC endpoint.
        _ = try await cluster.status(cluster.identity.endpoint)
        // A graceful stop does not wait for a client that sends nothing: the listener closes its connections.
        let lingering = try await TCPConnection.connect(host: "127.0.0.1", port: HTTP.port(address))
        defer { lingering.close() }
        #expect(cluster.identity.terminate() == 0)
    }

    @Test func theNBDGatewayServesHealthAndMetrics() async throws {
        try requirePrometheusClient()
        let cluster = try Self.cluster()
        defer { cluster.stop() }
        try cluster.addWorker("w-nbd")
        try await cluster.waitForWorkers(["w-nbd"])
        _ = try await cluster.bootstrap(accounts: ["acct-nbd"])
        let token = try await cluster.token(tenant: "t1", "ops", "ops-secret-123456")
        try await DiskClient(ServiceClient(rpc: cluster.client, token: token), account: "acct-nbd").create("disk-m", size: 1 << 20)
        let secretFile = "\(cluster.root)/ops.secret"
        try "ops-secret-123456\n".write(toFile: secretFile, atomically: true, encoding: .utf8)
        let gateway = try ServiceProcess("atrest-nbd", [
            "--endpoint", cluster.frontDoor.endpoint, "--tenant", "t1", "--user", "ops", "--secret-file", secretFile,
            "--listen", "127.0.0.1:0", "--export", "acct-nbd/disk-m",
        ] + Self.listen)
        defer { _ = gateway.terminate() }
        let address = try #require(gateway.fields["metrics"])
        #expect(try await HTTP.get(address, "/healthz").status == 200)
        let ready = try await HTTP.get(address, "/readyz")
        #expect(ready.status == 200 && ready.body.contains("ok frontdoor"))
        #expect(try Scrape(address).value("atrest_process_resident_memory_bytes") > 0)
        // The front door gone: the gateway is alive but not ready.
        cluster.frontDoor.kill()
        #expect(try await HTTP.waitFor(address, "/readyz", status: 503).body.contains("failed frontdoor"))
        #expect(try await HTTP.get(address, "/healthz").status == 200)
    }

    func requirePrometheusClient() throws {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        probe.arguments = ["-c", "import prometheus_client"]
        probe.standardError = FileHandle.nullDevice
        try probe.run()
        probe.waitUntilExit()
        try #require(probe.terminationStatus == 0, "install python3-prometheus-client (scripts/setup.sh --test)")
    }
}

/// One scrape of /metrics, parsed by Python's prometheus_client into samples.
struct Scrape {
    struct Sample { var name: String; var labels: [String: String]; var value: Double }
    let samples: [Sample]
    let text: String

    static let parser = """
    import json, sys, urllib.request
    from prometheus_client.parser import text_string_to_metric_families
    text = urllib.request.urlopen("http://" + sys.argv[1] + "/metrics", timeout=10).read().decode()
    out = [[s.name, s.labels, s.value] for f in text_string_to_metric_families(text) for s in f.samples]
    print(json.dumps({"text": text, "samples": out}))
    """

    init(_ address: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", Self.parser, address]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "prometheus_client could not parse the /metrics of \(address)")
        let json = try #require(try JSONSerialization.jsonObject(with: output) as? [String: Any])
        text = json["text"] as? String ?? ""
        samples = (json["samples"] as? [[Any]] ?? []).compactMap { row in
            guard row.count == 3, let name = row[0] as? String, let labels = row[1] as? [String: String],
                  let value = (row[2] as? NSNumber)?.doubleValue else { return nil }
            return Sample(name: name, labels: labels, value: value)
        }
    }

    /// The sum of the samples named `name` whose labels include `labels`.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double {
        samples.filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }.reduce(0) { $0 + $1.value }
    }
}

/// Plain HTTP/1.1 over AtRestSockets' connection: one request, the answer read to the end.
enum HTTP {
    static func port(_ address: String) throws -> UInt16 { try #require(HostPort.parse(address)).port }

    static func raw(_ address: String, _ request: [UInt8]) async throws -> String {
        let connection = try await TCPConnection.connect(host: "127.0.0.1", port: try port(address))
        defer { connection.close() }
        try await connection.writeAll(request)
        var answer: [UInt8] = []
        while true {
            do {
                answer += try await connection.readSome(maxCount: 65536)
            } catch let failure as SocketError where failure.kind == .endOfStream {
                break
            }
        }
        return String(decoding: answer, as: UTF8.self)
    }

    static func get(_ address: String, _ path: String) async throws -> (status: Int, body: String) {
        let answer = try await raw(address, Array("GET \(path) HTTP/1.1\r\nHost: \(address)\r\n\r\n".utf8))
        let status = Int(answer.split(separator: " ").dropFirst().first ?? "") ?? 0
        let body = answer.range(of: "\r\n\r\n").map { String(answer[$0.upperBound...]) } ?? ""
        return (status, body)
    }

    /// Polls (bounded, about 30 s) until `path` answers `status`.
    static func waitFor(_ address: String, _ path: String, status: Int) async throws -> (status: Int, body: String) {
        var last: (status: Int, body: String) = (0, "")
        for _ in 0..<150 {
            if let answer = try? await get(address, path) {
                last = answer
                if answer.status == status { return answer }
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        Issue.record("\(address)\(path) never answered \(status); last: \(last.status) \(last.body)")
        return last
    }
}
