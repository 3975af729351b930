import AtRestClient
import AtRestCrypto
import AtRestMessaging
import AtRestTesting
import AtRestWire
import Foundation
import Testing

/// Ceph coming back under a client: the client library's retry policy
/// (`RetryPolicy` of `RPCClient`, which `BlobClient` and the `atrest` CLI
/// use; docs/PROTOCOL.md "Retries") rides out an outage the caller never sees.
/// With the only OSD frozen, a get (idempotent), a put (idempotency key), a
/// CLI get and a Python client get start; once the front door has answered their first attempts
/// UNAVAILABLE (after the Ceph timeout, `--ceph-timeout 3` here) the OSD resumes, and all four
/// succeed without the caller retrying; what the put acknowledged is what
/// is stored, one whole object.
@Suite(.serialized) struct CephRecoveryRetryTests {
    @Test func idempotentCallsSucceedOnceCephIsBackWithoutTheCallerRetrying() async throws {
        let ceph = try CephDevCluster.start()
        defer { try? ceph.stop() }
        var options = LocalCluster.Options(rootTag: "ceph-retry", workers: 1,
                                           extraArguments: [.worker: CephOutageTests.timeout, .frontDoor: CephOutageTests.timeout])
        options.storage = ceph.clusterStorage()
        let cluster = try LocalCluster(options)
        defer { cluster.stop() }
        _ = try await cluster.bootstrapUsers()
        let token = try await cluster.token(tenant: "t1", "alice", "alice-secret-123456")
        let base = ServiceClient(rpc: cluster.client, token: token, timeout: .seconds(60))
        _ = try await AccountClient(base).create("retry")
        let blobs = BlobClient(base, account: "retry")
        try await blobs.createContainer("box")
        let kept = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 3) }
        let old = (0..<150_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let new = (0..<120_000).map { UInt8(truncatingIfNeeded: $0 &* 11 &+ 1) }
        _ = try await blobs.put("box", "kept", data: kept)
        _ = try await blobs.put("box", "x", data: old)
        let cli = try await cliGet(cluster)
        let python = try await pythonGet(cluster)

        let unavailableBefore = try await cluster.status(cluster.frontDoor.endpoint).figure("errors", label: "UNAVAILABLE")
        let osd = try CephOutageTests.pid(of: "osd.0", in: ceph)
        kill(osd, SIGSTOP)
        defer { kill(osd, SIGCONT) }
        let started = ContinuousClock.now
        let get = Task { try await blobs.get("box", "kept").data }
        let put = Task { try await blobs.put("box", "x", data: new) }
        let cliRun = Task { try await cli.run() }
        let pythonRun = Task { try await python.client.example(python.arguments, in: python.directory) }
        // Resume once the first attempts have failed (what follows succeeds
        // through the clients' retries alone), and no later than 2 s after
        // the first did, so the outage stays about one Ceph timeout long
        // (what the retries are sized for; docs/PROTOCOL.md "Retries").
        var unavailable: UInt64 = 0
        var firstFailed: ContinuousClock.Instant?
        for _ in 0..<1_800 {
            unavailable = try await cluster.status(cluster.frontDoor.endpoint).figure("errors", label: "UNAVAILABLE") - unavailableBefore
            if unavailable > 0, firstFailed == nil { firstFailed = .now }
            if unavailable >= 4 || firstFailed.map({ ContinuousClock.now - $0 > .seconds(2) }) == true { break }
            try await Task.sleep(for: .milliseconds(25))
        }
        kill(osd, SIGCONT)
        let resumed = ContinuousClock.now - started
        #expect(unavailable >= 1, "the front door answered no UNAVAILABLE while the OSD was frozen")

        #expect(try await get.value == kept, "the get returned other bytes")
        let cliResult = try await cliRun.value
        #expect(cliResult.status == 0, "atrest blob get: \(cliResult.err)")
        #expect((try? Data(contentsOf: URL(fileURLWithPath: cli.target))) == Data(kept))
        let pythonResult = try await pythonRun.value
        #expect(pythonResult.fields("ok get") == ["length": "\(kept.count)", "sha256": Hex.encode(try SHA256.hash(kept))],
                "\(pythonResult.transcript)")
        let stored = try await blobs.get("box", "x").data
        let putResult = await put.result
        switch putResult {
        case .success(let properties):
            #expect(properties.length == UInt64(new.count))
            #expect(stored == new, "the put was acknowledged but 'x' holds \(stored == old ? "the old bytes" : "other bytes")")
        case .failure(let error):
            // Not acknowledged: "may or may not have taken effect", but whole either way.
            #expect((error as? RPCStatus)?.code == .unavailable, "\(error)")
            #expect(stored == old || stored == new, "'x' is neither the old nor the new object")
        }
        let listed = try await blobs.listAll("box").blobs.filter { $0.name == "x" }
        #expect(listed.count == 1 && listed.first?.length == UInt64(stored.count), "\(listed)")
        print("Ceph recovery: OSD resumed after \(resumed) (\(unavailable) UNAVAILABLE answered first); get, put, CLI and Python gets done "
              + "after \(ContinuousClock.now - started), put \((try? putResult.get()) != nil ? "acknowledged" : "UNAVAILABLE")")
    }

    /// `atrest blob get retry/box/kept` as alice with the CLI's default timeout, ready to run.
    private func cliGet(_ cluster: LocalCluster) async throws -> CLIGet {
        let env = ["ATREST_CONFIG": "\(cluster.root)/cli/config.json"]
        try "alice-secret-123456".write(toFile: "\(cluster.root)/alice.secret", atomically: true, encoding: .utf8)
        let login = try await runTool("atrest", ["login", "--tenant", "t1", "--user", "alice", "--secret-file", "\(cluster.root)/alice.secret",
                                                 "--endpoint", cluster.frontDoor.endpoint], environment: env)
        try #require(login.status == 0, "atrest login: \(login.err)")
        return CLIGet(arguments: ["blob", "get", "box", "kept", "\(cluster.root)/kept.out", "--account", "retry",
                                  "--endpoint", cluster.frontDoor.endpoint],
                      environment: env, target: "\(cluster.root)/kept.out")
    }

    /// `atrest_example.py get` of retry/box/kept as alice (default timeout 30 s), ready to run with the installed client.
    private func pythonGet(_ cluster: LocalCluster) async throws -> (client: ClientTools.InstalledPython, arguments: [String], directory: String) {
        let work = cluster.root + "/python"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        return (try await ClientTools.installedPython(),
                ["get", "--endpoint", cluster.frontDoor.endpoint, "--tenant", "t1", "--user", "alice", "--secret-file", "\(cluster.root)/alice.secret",
                 "--account", "retry", "--container", "box", "--blob", "kept"], work)
    }

    private struct CLIGet {
        var arguments: [String]
        var environment: [String: String]
        var target: String
        func run() async throws -> (status: Int32, out: String, err: String) {
            try await runTool("atrest", arguments, environment: environment)
        }
    }
}
