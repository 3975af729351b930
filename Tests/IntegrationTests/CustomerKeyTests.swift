import AtRestCrypto
import AtRestTesting
import AtRestWire
import Foundation
import Testing

/// Customer-provided keys (issue 20) through the real processes: a CURVE
/// cluster accepts them and keeps them nowhere (data directory, logs,
/// traces); a cluster without CURVE refuses them; the CLI's
/// `--encryption-key-file` on put, get and props.
@Suite(.serialized) struct CustomerKeyTests {
    static let secret = "this blob is encrypted with a customer-provided key; send the key"

    @Test func customerKeysOverCurve() async throws {
        var options = LocalCluster.blobClusterOptions
        let root = LocalCluster.temporaryDirectory("atrest-cpk")
        try FileManager.default.createDirectory(atPath: root + "/logs", withIntermediateDirectories: true)
        options.root = root
        options.rootTag = "cpk"
        options.workers = 1
        options.curve = true
        options.stderrDirectory = root + "/logs"
        for (service, name) in [(LocalClusterOptions.Service.frontDoor, "frontdoor"), (.worker, "worker")] {
            options.extraArguments[service] = ["--trace-file", "\(root)/logs/\(name).trace", "--log-level", "debug"]
        }
        options.extraArguments[.frontDoor, default: []] += ["--max-call-time", "\(AccountReencryptTests.Fixture.maxCallTime)"]
        let cluster = try LocalCluster(options)
        defer { cluster.stop() }
        let c = cluster.client
        let a = try await Self.aliceAccount(cluster, "acct-k", container: "vault")
        let (keyBytes, key) = try Self.randomKey()
        #expect(!"\(key)".contains(Hex.encode(keyBytes)) && !"\(BlobGetRequest(container: "c", name: "n", encryptionKey: key))".contains("\(keyBytes)"))
        let data = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 11) }
        let put = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "vault", name: "secret.bin", metadata: ["m": "v"],
                                                                                 encryptionKey: key),
                                   as: BlobProperties.self, payload: [data], metadata: a).message
        #expect(put.length == 200_000)
        // With the key: whole and ranged, byte-exact; properties and metadata.
        let got = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "vault", name: "secret.bin", encryptionKey: key),
                                   as: BlobGetResponse.self, metadata: a)
        #expect(got.payload.flatMap { $0 } == data)
        let ranged = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "vault", name: "secret.bin",
                                                                                    range: 65_000..<140_001, encryptionKey: key),
                                      as: BlobGetResponse.self, metadata: a)
        #expect(ranged.payload.flatMap { $0 } == Array(data[65_000..<140_001]) && ranged.message.offset == 65_000)
        let props = try await c.call(BlobMethod.getProperties.name, request: BlobRequest(container: "vault", name: "secret.bin", encryptionKey: key),
                                     as: BlobProperties.self, metadata: a).message
        #expect(props.metadata == ["m": "v"])

        // Without the key, with another key: FAILED_PRECONDITION (not DATA_LOSS), the issue's messages.
        await expectCode(.failedPrecondition, contains: Self.secret, reason: "customerKeyRequired") {
            _ = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "vault", name: "secret.bin"), as: BlobGetResponse.self, metadata: a)
        }
        await expectCode(.failedPrecondition, contains: Self.secret) {
            _ = try await c.call(BlobMethod.getProperties.name, request: BlobRequest(container: "vault", name: "secret.bin"), as: BlobProperties.self, metadata: a)
        }
        let (otherBytes, other) = try Self.randomKey()
        await expectCode(.failedPrecondition, contains: "does not match this blob", reason: "customerKeyMismatch") {
            _ = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "vault", name: "secret.bin", encryptionKey: other),
                                 as: BlobGetResponse.self, metadata: a)
        }
        // A key whose SHA-256 is wrong, a short key: INVALID_ARGUMENT, and the message does not show the key.
        let badHash = CustomerProvidedKey(key: keyBytes, keySHA256: try SHA256.hash(otherBytes))
        do {
            _ = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "vault", name: "secret.bin", encryptionKey: badHash),
                                 as: BlobGetResponse.self, metadata: a)
            Issue.record("a wrong SHA-256 was accepted")
        } catch let status as RPCStatus {
            #expect(status.code == .invalidArgument && status.message.contains("SHA-256") && !status.message.contains(Hex.encode(keyBytes)), "\(status)")
        }
        await expectCode(.invalidArgument, contains: "32-byte") {
            let short = Array(keyBytes.prefix(16))
            _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "vault", name: "short",
                                                                               encryptionKey: CustomerProvidedKey(key: short, keySHA256: try SHA256.hash(short))),
                                 as: BlobProperties.self, payload: [[1, 2, 3]], metadata: a)
        }
        // A key for a blob written without one.
        _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "vault", name: "plain"), as: BlobProperties.self,
                             payload: [[1, 2, 3]], metadata: a)
        await expectCode(.invalidArgument, contains: "not written with one") {
            _ = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "vault", name: "plain", encryptionKey: key),
                                 as: BlobGetResponse.self, metadata: a)
        }
        // Listing needs no key; a client cannot claim an encrypted transport for itself (the front door sets it).
        let listed = try await c.call(BlobMethod.list.name, request: BlobListRequest(container: "vault"), as: BlobListResponse.self, metadata: a).message
        #expect(listed.blobs.map(\.name) == ["plain", "secret.bin"] && listed.damagedCount == 0)

        // Re-encryption after an account-key rotation cannot rewrite a blob sealed with a key only its client has:
        // the job skips it (counted), rewrites the rest, and retiring the older version is then refused, so the blob stays readable.
        _ = try await c.call(AccountMethod.rotateKey.name, request: AccountRequest(accountID: "acct-k"), as: AccountEncryption.self, metadata: a)
        _ = try await c.call(AccountMethod.startReencrypt.name, request: AccountReencryptRequest(accountID: "acct-k"), as: ReencryptJob.self, metadata: a)
        var job = ReencryptJob()
        try await eventually(within: .seconds(60)) {
            job = try await c.call(AccountMethod.getJob.name, request: AccountRequest(accountID: "acct-k"), as: ReencryptJob.self, metadata: a,
                                   idempotent: true).message
            guard !job.isRunning else { throw RPCStatus(.unavailable, "job \(job.state)") }
        }
        #expect(job.state == ReencryptJob.completed && job.skipped == 1 && job.rewritten >= 1, "\(job)")
        await expectCode(.failedPrecondition, contains: "sealed with customer-provided keys", reason: "blobsSkipped") {
            _ = try await c.call(AccountMethod.retireVersions.name, request: AccountRequest(accountID: "acct-k"), as: AccountInfo.self, metadata: a)
        }
        let stillThere = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "vault", name: "secret.bin", encryptionKey: key),
                                          as: BlobGetResponse.self, metadata: a)
        #expect(stillThere.payload.flatMap { $0 } == data)

        // The CLI: key file in hex, put then get and props with it; get without it fails with the message.
        let work = LocalCluster.temporaryDirectory("atrest-cpk-cli")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let curve = try #require(cluster.curve)
        let env = ["ATREST_CONFIG": "\(work)/config.json"]
        let connection = ["--endpoint", cluster.frontDoor.endpoint, "--curve-server-key=\(curve.frontDoorKey)", "--curve-key-file", "\(curve.directory)/client.key"]
        func atrest(_ args: [String]) async throws -> (status: Int32, out: String, err: String) {
            try await runTool("atrest", args + connection, environment: env)
        }
        try "alice-secret-123456".write(toFile: "\(work)/alice.secret", atomically: true, encoding: .utf8)
        #expect(try await atrest(["login", "--tenant", "t1", "--user", "alice", "--secret-file", "\(work)/alice.secret"]).status == 0)
        let cliKey = try SecureRandom.bytes(32)
        try (Hex.encode(cliKey) + "\n").write(toFile: "\(work)/key.hex", atomically: true, encoding: .utf8)
        let source = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        try Data(source).write(to: URL(fileURLWithPath: "\(work)/in.bin"))
        let acct = ["--account", "acct-k"]
        let cliPut = try await atrest(["blob", "put", "vault", "cli.bin", "\(work)/in.bin", "--encryption-key-file", "\(work)/key.hex"] + acct)
        #expect(cliPut.status == 0, "\(cliPut)")
        let cliGet = try await atrest(["blob", "get", "vault", "cli.bin", "\(work)/out.bin", "--encryption-key-file", "\(work)/key.hex"] + acct)
        #expect(cliGet.status == 0, "\(cliGet)")
        #expect(FileManager.default.contents(atPath: "\(work)/out.bin").map(Array.init) == source)
        let cliNoKey = try await atrest(["blob", "get", "vault", "cli.bin", "\(work)/out2.bin"] + acct)
        #expect(cliNoKey.status == 6 && cliNoKey.err.contains(Self.secret), "\(cliNoKey)")
        try Data(cliKey).write(to: URL(fileURLWithPath: "\(work)/key.raw"))
        let cliProps = try await atrest(["blob", "props", "vault", "cli.bin", "--json", "--encryption-key-file", "\(work)/key.raw"] + acct)
        #expect(cliProps.status == 0 && cliProps.out.contains("cli.bin") && !cliProps.out.contains(Hex.encode(cliKey)), "\(cliProps)")
        try "not a key".write(toFile: "\(work)/bad.key", atomically: true, encoding: .utf8)
        #expect(try await atrest(["blob", "get", "vault", "cli.bin", "-", "--encryption-key-file", "\(work)/bad.key"] + acct).status == 2)

        // The Python client: encryption_key on put_blob and get_blob; a read without it gets the message.
        let python = try await ClientTools.installedPython()
        let script = """
            import sys
            import atrest_client
            fields = dict(l.split("=", 1) for l in open(sys.argv[3]).read().split() if "=" in l)
            curve = atrest_client.CurveKeys(sys.argv[2], fields["public"], fields["secret"])
            key = bytes.fromhex(sys.argv[4])
            with atrest_client.AtRestClient(sys.argv[1], curve=curve, timeout=20) as c:
                c.login("t1", "alice", "alice-secret-123456")
                data = bytes(range(256)) * 300
                c.put_blob("acct-k", "vault", "py.bin", data, encryption_key=key)
                assert c.get_blob("acct-k", "vault", "py.bin", encryption_key=key) == data
                try:
                    c.get_blob("acct-k", "vault", "py.bin")
                    print("error: read without the key")
                except atrest_client.RpcError as e:
                    print("ok", e.code.name, e.message)
            """
        try script.write(toFile: "\(work)/cpk.py", atomically: true, encoding: .utf8)
        let py = try await ClientTools.run(python.python, [
            "\(work)/cpk.py", cluster.frontDoor.endpoint, curve.frontDoorKey, "\(curve.directory)/client.key", Hex.encode(keyBytes),
        ], environment: ["PYTHONPATH": ""], in: work)
        #expect(py.status == 0 && py.transcript.contains("ok FAILED_PRECONDITION \(Self.secret)"), "\(py.transcript)")

        // Nothing of either key anywhere under the cluster's root: objects, registry, logs, traces.
        #expect(!(try Self.filesContaining(Array(BlobMethod.get.name.utf8), under: root)).isEmpty, "the scan finds what is there")
        var scanned = 0
        for needle in [keyBytes, cliKey] {
            for form in [needle, Array(Hex.encode(needle).utf8), Array(Data(needle).base64EncodedString().utf8)] {
                let found = try Self.filesContaining(form, under: root)
                #expect(found.isEmpty, "key bytes found in \(found)")
            }
        }
        for path in try FileManager.default.subpathsOfDirectory(atPath: root + "/logs") { scanned += path.hasSuffix(".trace") ? 1 : 0 }
        #expect(scanned == 2, "both trace files were written and scanned")
        let traces = try String(contentsOfFile: root + "/logs/worker.trace", encoding: .utf8)
        #expect(traces.contains(BlobMethod.get.name), "the worker traced the calls")
    }

    @Test func withoutCurveACustomerKeyIsRefused() async throws {
        var options = LocalCluster.blobClusterOptions
        options.rootTag = "cpk-plain"
        options.workers = 1
        let cluster = try LocalCluster(options)
        defer { cluster.stop() }
        let c = cluster.client
        let a = try await Self.aliceAccount(cluster, "acct-p", container: "box")
        let (_, key) = try Self.randomKey()
        await expectCode(.failedPrecondition, contains: "customer-provided keys need a CURVE-encrypted connection") {
            _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "box", name: "x", encryptionKey: key),
                                 as: BlobProperties.self, payload: [[1, 2, 3]], metadata: a)
        }
        // Claiming the transport in the call's metadata changes nothing: the front door overwrites it.
        await expectCode(.failedPrecondition, contains: "CURVE") {
            _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "box", name: "x", encryptionKey: key),
                                 as: BlobProperties.self, payload: [[1, 2, 3]],
                                 metadata: a.merging([CustomerProvidedKey.transportMetadataKey: CustomerProvidedKey.encryptedTransport]) { $1 })
        }
        // Nothing was written; the same put without a key works.
        let listed = try await c.call(BlobMethod.list.name, request: BlobListRequest(container: "box"), as: BlobListResponse.self, metadata: a).message
        #expect(listed.blobs.isEmpty)
        _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "box", name: "x"), as: BlobProperties.self,
                             payload: [[1, 2, 3]], metadata: a)
    }

    /// Users alice and bob; alice's new account with one container; the metadata of alice's calls to it.
    static func aliceAccount(_ cluster: LocalCluster, _ account: String, container: String) async throws -> [String: String] {
        let (alice, _) = try await cluster.bootstrapUsers()
        _ = try await cluster.client.call("atrest.v1.Account/Create", request: AccountCreateRequest(accountID: account), as: AccountInfo.self,
                                          metadata: alice)
        let metadata = alice.merging(["account": account]) { $1 }
        _ = try await cluster.client.call(BlobMethod.createContainer.name, request: ContainerRequest(container: container),
                                          as: EmptyMessage.self, metadata: metadata)
        return metadata
    }

    static func randomKey() throws -> (bytes: [UInt8], key: CustomerProvidedKey) {
        let bytes = try SecureRandom.bytes(32)
        return (bytes, CustomerProvidedKey(key: bytes, keySHA256: try SHA256.hash(bytes)))
    }

    /// Regular files under `root` whose bytes contain `needle`.
    static func filesContaining(_ needle: [UInt8], under root: String) throws -> [String] {
        var found: [String] = []
        let needleData = Data(needle)
        for path in try FileManager.default.subpathsOfDirectory(atPath: root) {
            let full = root + "/" + path
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue,
                  let contents = FileManager.default.contents(atPath: full) else { continue }
            if contents.range(of: needleData) != nil { found.append(path) }
        }
        return found
    }
}
