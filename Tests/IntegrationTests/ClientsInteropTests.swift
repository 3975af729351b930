import AtRestCrypto
import AtRestMessaging
import AtRestServiceKit
import AtRestTesting
import AtRestWire
import Foundation
import Testing

/// The Python and C clients (clients/) against the real processes on
/// loopback: they speak only what docs/PROTOCOL.md and proto/ say, so a change
/// of the wire contract that breaks outside programs fails here. What they
/// wrote is read back through the Swift client, byte for byte.
@Suite(.serialized) struct ClientsInteropTests {
    /// clients/python/atrest_example.py: pattern(i) = (i * 131 + (i >> 9)) & 0xff.
    static func pythonPattern(_ size: Int) -> [UInt8] { (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ ($0 >> 9)) } }
    /// clients/c/atrest_put_get.c: pattern(i) = (i * 7 + (i >> 11)) & 0xff.
    static func cPattern(_ size: Int) -> [UInt8] { (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ ($0 >> 11)) } }

    @Test func pythonAndCClientsAgainstTheCluster() async throws {
        let cluster = try LocalCluster.blobCluster()
        defer { cluster.stop() }
        let work = cluster.root + "/clients"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let python = try await ClientTools.installedPython()
        let (alice, _) = try await cluster.bootstrapUsers()
        let secretFile = work + "/alice.secret"
        try #require(FileManager.default.createFile(atPath: secretFile, contents: Data("alice-secret-123456\n".utf8), attributes: [.posixPermissions: 0o600]))

        // Python: login, account, container, 4 staged blocks, ranged reads, list.
        let size = 3 * (1 << 20) + 12345
        let py = try await python.example([
            "demo", "--endpoint", cluster.frontDoor.endpoint,
            "--tenant", "t1", "--user", "alice", "--secret-file", secretFile, "--account", "acct-py", "--container", "py-data",
            "--blob", "staged.bin", "--size", "\(size)", "--block-size", "\(1 << 20)",
        ], in: work)
        #expect(py.status == 0, "\(py.transcript)")
        #expect(py.fields("ok account")?["key_source"] == "managed", "\(py.transcript)")
        #expect(py.fields("ok account")?["algorithm"] == "AES-256-GCM", "\(py.transcript)")
        #expect(py.fields("ok put") == ["name": "staged.bin", "length": "\(size)", "blocks": "4"], "\(py.transcript)")
        #expect(py.fields("ok range")?["equal"] == "1", "\(py.transcript)")
        #expect(py.fields("ok list")?["names"] == "staged.bin", "\(py.transcript)")
        #expect(py.fields("ok missing")?["code"] == "NOT_FOUND", "\(py.transcript)")
        #expect(py.lines.last == "done", "\(py.transcript)")

        // What Python wrote, read by the Swift client.
        let a = alice.merging(["account": "acct-py"]) { $1 }
        let expected = Self.pythonPattern(size)
        let back = try await readAll(cluster.client, container: "py-data", name: "staged.bin", metadata: a)
        #expect(back == expected, "the Swift client reads back different bytes than Python wrote")
        let digest = try SHA256.hash(back).map { String(format: "%02x", $0) }.joined()
        #expect(py.fields("ok get")?["sha256"] == digest, "\(py.transcript)")
        let props = try await cluster.client.call(BlobMethod.getProperties.name, request: BlobRequest(container: "py-data", name: "staged.bin"),
                                                  as: BlobProperties.self, metadata: a).message
        #expect(props.metadata == ["written-by": "python"] && props.contentType == "application/octet-stream")

        // Python queues: a producer and a consumer, each message received once; the Swift client sees the same queue.
        let pyQueue = try await python.example([
            "queue-demo", "--endpoint", cluster.frontDoor.endpoint,
            "--tenant", "t1", "--user", "alice", "--secret-file", secretFile, "--account", "acct-pyq", "--queue", "py-jobs",
            "--messages", "40",
        ], in: work)
        #expect(pyQueue.status == 0, "\(pyQueue.transcript)")
        #expect(pyQueue.fields("ok produced") == ["queue": "py-jobs", "messages": "40"], "\(pyQueue.transcript)")
        #expect(pyQueue.fields("ok consumed") == ["messages": "40", "once_each": "1", "left": "0"], "\(pyQueue.transcript)")
        #expect(pyQueue.fields("ok stale")?["code"] == "NOT_FOUND", "\(pyQueue.transcript)")
        let queues = try await cluster.client.call(QueueMethod.listQueues.name, request: QueueListRequest(), as: QueueListResponse.self,
                                                   metadata: alice.merging(["account": "acct-pyq"]) { $1 }).message
        #expect(queues.queues.map(\.queue) == ["py-jobs"] && queues.queues.first?.metadata == ["written_by": "python"])

        // Python tables: every property type round trips, a stale ETag loses, a batch and a query; the Swift client reads the entity.
        let pyTable = try await python.example([
            "table-demo", "--endpoint", cluster.frontDoor.endpoint,
            "--tenant", "t1", "--user", "alice", "--secret-file", secretFile, "--account", "acct-pyt", "--table", "pyPeople",
            "--messages", "20",
        ], in: work)
        #expect(pyTable.status == 0, "\(pyTable.transcript)")
        #expect(pyTable.fields("ok entity") == ["etag_len": "32", "round_trip": "1"], "\(pyTable.transcript)")
        #expect(pyTable.fields("ok stale")?["code"] == "FAILED_PRECONDITION", "\(pyTable.transcript)")
        #expect(pyTable.fields("ok batch") == ["results": "20", "matched": "10", "first": "r10"], "\(pyTable.transcript)")
        #expect(pyTable.fields("ok upsert") == ["name": "Bob", "age": "41", "selected": "Name"], "\(pyTable.transcript)")
        #expect(pyTable.fields("ok pages") == ["rows": "10", "calls": "4", "same": "1", "top": "r00,r01,r02,r03"], "\(pyTable.transcript)")
        #expect(pyTable.fields("ok batch2") == ["results": "2", "deleted_etag": "''", "left": "r01", "seen": "True"], "\(pyTable.transcript)")
        #expect(pyTable.fields("ok delete") == ["stale": "FAILED_PRECONDITION", "gone": "NOT_FOUND"], "\(pyTable.transcript)")
        #expect(pyTable.fields("ok tables") == ["listed": "pyPeople,pyPeopleThree,pyPeopleTwo", "after": "pyPeople,pyPeopleThree"], "\(pyTable.transcript)")
        let written = try await cluster.client.call(TableMethod.getEntity.name, request: EntityKeyRequest(table: "pyPeople", partitionKey: "uk", rowKey: "ada"),
                                                    as: Entity.self, metadata: alice.merging(["account": "acct-pyt"]) { $1 }).message
        #expect(written.properties.first { $0.name == "Age" } == EntityProperty(name: "Age", type: EntityProperty.Kind.int32.rawValue, intValue: 37))
        #expect(written.properties.first { $0.name == "Born" }?.intValue == -4_861_727_999_500_000)

        // Python disks: pages round trip, holes read as zeros, ranges listed, cleared, resized; the Swift client reads the pages.
        let pyDisk = try await python.example([
            "disk-demo", "--endpoint", cluster.frontDoor.endpoint,
            "--tenant", "t1", "--user", "alice", "--secret-file", secretFile, "--account", "acct-pyd", "--disk", "py-disk",
            "--size", "100000",
        ], in: work)
        #expect(pyDisk.status == 0, "\(pyDisk.transcript)")
        #expect(pyDisk.fields("ok pages") == ["length": "99840", "equal": "1", "hole_zero": "1"], "\(pyDisk.transcript)")
        #expect(pyDisk.fields("ok ranges") == ["count": "1", "first": "1048576"], "\(pyDisk.transcript)")
        #expect(pyDisk.fields("ok cleared") == ["zero": "1", "size": "134217728"], "\(pyDisk.transcript)")
        #expect(pyDisk.fields("ok beyond")?["code"] == "INVALID_ARGUMENT", "\(pyDisk.transcript)")
        let pages = try await cluster.client.call(DiskMethod.getPages.name, request: DiskRangeRequest(disk: "py-disk", offset: 1 << 20, length: 8192),
                                                  as: GetPagesResponse.self, metadata: alice.merging(["account": "acct-pyd"]) { $1 }, idempotent: true).payload.flatMap { $0 }
        #expect(Array(pages.prefix(4096)) == [UInt8](repeating: 0, count: 4096) && Array(pages.suffix(4096)) == Array(Self.pythonPattern(8192).suffix(4096)),
                "the Swift client reads other page bytes than Python wrote (and cleared)")

        // C: Put + Get in an account and container made by the Swift client.
        _ = try await cluster.client.call("atrest.v1.Account/Create", request: AccountCreateRequest(accountID: "acct-c"), as: AccountInfo.self, metadata: alice)
        let c = alice.merging(["account": "acct-c"]) { $1 }
        _ = try await cluster.client.call(BlobMethod.createContainer.name, request: ContainerRequest(container: "c-data"), as: EmptyMessage.self, metadata: c)
        let binary = work + "/atrest_put_get"
        try await ClientTools.compileC("atrest_put_get.c", messages: ["envelope", "identity", "blob"], output: binary, in: work)
        let cSize = 300_001
        let cRun = try await ClientTools.run(binary, [cluster.frontDoor.endpoint, "t1", "alice", secretFile, "acct-c", "c-data", "from-c.bin", "\(cSize)"], in: work)
        #expect(cRun.status == 0, "\(cRun.transcript)")
        #expect(cRun.fields("ok put") == ["name": "from-c.bin", "length": "\(cSize)"], "\(cRun.transcript)")
        #expect(cRun.fields("ok get") == ["length": "\(cSize)", "equal": "1"], "\(cRun.transcript)")
        #expect(cRun.fields("ok range") == ["offset": "\(cSize / 3)", "length": "1000", "equal": "1"], "\(cRun.transcript)")
        #expect(cRun.fields("ok missing")?["code"] == "\(StatusCode.notFound.rawValue)", "\(cRun.transcript)")
        let fromC = try await readAll(cluster.client, container: "c-data", name: "from-c.bin", metadata: c)
        #expect(fromC == Self.cPattern(cSize), "the Swift client reads back different bytes than C wrote")
    }

    /// The Python client as an installed package (every Python test here
    /// runs it so: `ClientTools.installedPython`): `pip install
    /// clients/python` into a fresh virtual environment (pyzmq and protobuf
    /// come as declared dependencies, the protobuf modules are generated by
    /// the build); the package and its metadata are the installed ones, and
    /// the example, copied out of the source tree and with no PYTHONPATH or
    /// proto directory, runs the blob demo against the cluster. Needs the
    /// package index (or a pip configuration that mirrors it).
    @Test func pythonClientInstalledWithPip() async throws {
        let cluster = try LocalCluster.blobCluster()
        defer { cluster.stop() }
        let work = cluster.root + "/pip"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let python = try await ClientTools.installedPython()
        let version = try await ClientTools.run(python.python, [
            "-c", "import importlib.metadata as m, atrest_client, atrest_client.protos as p; p.load(); print(m.version('atrest-client'), atrest_client.__file__)",
        ], environment: ["PYTHONPATH": ""], in: work)
        #expect(version.status == 0 && version.stdout.hasPrefix("0.1.0 \(python.directory)/venv/"), "\(version.transcript)")
        _ = try await cluster.bootstrapUsers()
        let secretFile = work + "/alice.secret"
        try #require(FileManager.default.createFile(atPath: secretFile, contents: Data("alice-secret-123456\n".utf8), attributes: [.posixPermissions: 0o600]))
        let demo = try await python.example([
            "demo", "--endpoint", cluster.frontDoor.endpoint, "--tenant", "t1", "--user", "alice",
            "--secret-file", secretFile, "--account", "acct-pip", "--container", "pip-data", "--blob", "pip.bin", "--size", "\((2 << 20) + 99)", "--block-size", "\(1 << 20)",
        ], in: work)
        #expect(demo.status == 0 && demo.lines.last == "done", "\(demo.transcript)")
        #expect(demo.fields("ok put")?["length"] == "\((2 << 20) + 99)" && demo.fields("ok range")?["equal"] == "1", "\(demo.transcript)")
    }

    /// CURVE from Python: with the server's public key and an allowed client
    /// key pair the call goes through; an unlisted key gets no answer at all
    /// (the server refuses the handshake), which the client reports as
    /// DEADLINE_EXCEEDED. Uses atrest-identity, which takes CURVE flags.
    @Test func pythonClientSpeaksCurve() async throws {
        let root = NSTemporaryDirectory() + "atrest-curve-py-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let python = try await ClientTools.installedPython()
        let server = try CurveKeyPair.generate(), client = try CurveKeyPair.generate()
        try CurveKeyFile.writeKeyPair(server, to: root + "/server.key")
        try CurveKeyFile.writeKeyPair(client, to: root + "/client.key")
        try "\(client.publicKey)\n".write(toFile: root + "/allow", atomically: true, encoding: .utf8)
        let identity = try ServiceProcess("atrest-identity", LocalCluster.identityArguments(root: root) + [
            "--curve-secret-key-file", root + "/server.key", "--curve-allow-file", root + "/allow",
        ])
        defer { _ = identity.terminate() }
        let base = ["whoami", "--endpoint", identity.endpoint,
                    "--user", "admin", "--secret-file", LocalCluster.credentialsFile(root: root, "admin"),
                    "--curve-server-key=\(server.publicKey)"]

        let allowed = try await python.example(base + ["--curve-key-file", root + "/client.key"], in: root)
        #expect(allowed.status == 0, "\(allowed.transcript)")
        #expect(allowed.fields("ok whoami")?["name"] == "admin", "\(allowed.transcript)")

        let unlisted = try await python.example(base + ["--timeout", "2"], in: root)
        #expect(unlisted.status == 1, "\(unlisted.transcript)")
        #expect(unlisted.fields("error")?["code"] == "DEADLINE_EXCEEDED", "\(unlisted.transcript)")
    }

    /// A refused CURVE handshake leaves a DEALER with no connection and
    /// libzmq does not reconnect, so a blocking send would never return: the
    /// C client waits for ZMQ_POLLOUT with the call's deadline and sends
    /// with ZMQ_DONTWAIT, so the call ends at its deadline.
    @Test func cClientEndsACallWhoseCurveHandshakeWasRefused() async throws {
        let work = NSTemporaryDirectory() + "atrest-curve-c-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let binary = work + "/atrest_put_get"
        try await ClientTools.compileC("atrest_put_get.c", messages: ["envelope", "identity", "blob"], output: binary, in: work)
        let serverKeys = try CurveKeyPair.generate(), stranger = try CurveKeyPair.generate()
        let server = try ServiceProcess("atrest-echo", ["server", "--curve-public=\(serverKeys.publicKey)"],
                                        environment: ["ATREST_ECHO_CURVE_SECRET": serverKeys.exportSecretKey()])
        defer { _ = server.terminate() }
        try "secret\n".write(toFile: work + "/secret", atomically: true, encoding: .utf8)
        let start = ContinuousClock.now
        let run = try await ClientTools.run(binary, [server.endpoint, "t", "u", work + "/secret", "a", "c", "b", "1"], environment: [
            "ATREST_CALL_TIMEOUT_MS": "2000", "ATREST_CURVE_SERVER_KEY": serverKeys.publicKey,
            "ATREST_CURVE_PUBLIC_KEY": stranger.publicKey, "ATREST_CURVE_SECRET_KEY": stranger.exportSecretKey(),
        ], in: work, timeout: .seconds(20))
        #expect(run.status == 1, "\(run.transcript)")
        #expect(run.fields("error")?["code"] == "\(StatusCode.deadlineExceeded.rawValue)", "\(run.transcript)")
        #expect(ContinuousClock.now - start < .seconds(15))
    }

    private func readAll(_ client: RPCClient, container: String, name: String, metadata: [String: String]) async throws -> [UInt8] {
        var data: [UInt8] = []
        while true {
            let start = UInt64(data.count)
            let part = try await client.call(BlobMethod.get.name, request: BlobGetRequest(container: container, name: name, range: start..<(start + 4 << 20)),
                                             as: BlobGetResponse.self, metadata: metadata, idempotent: true)
            let bytes = part.payload.flatMap { $0 }
            data += bytes
            if bytes.isEmpty || UInt64(data.count) >= part.message.properties.length { return data }
        }
    }
}
