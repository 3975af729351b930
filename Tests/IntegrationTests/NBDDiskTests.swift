import AtRestClient
import AtRestIdentity
import AtRestTesting
import AtRestWire
import Foundation
import Testing

/// `atrest-nbd` serving an AtRest disk through the real processes (front
/// door, two workers, vault, identity) to real NBD clients: qemu-img in and
/// out byte-exact, nbdinfo, nbdcopy, and no plaintext in the data
/// directories afterwards.
@Suite(.serialized) struct NBDDiskTests {
    static let size = 64 << 20
    static let marker = Array("nbd-marker-page-wombat-4471 ".utf8)

    @Test func qemuImgNbdinfoAndNbdcopyThroughTheGateway() async throws {
        let cluster = try LocalCluster.blobCluster()
        defer { cluster.stop() }
        try await cluster.waitForWorkers(count: 2)
        _ = try await cluster.bootstrapUsers()
        let token = try await cluster.token(tenant: "t1", "alice", "alice-secret-123456")
        _ = try await AccountClient(ServiceClient(rpc: cluster.client, token: token)).create("nbd-acct")
        let disks = DiskClient(ServiceClient(rpc: cluster.client, token: token), account: "nbd-acct")
        try await disks.create("vm-disk", size: UInt64(Self.size))

        let work = "\(cluster.root)/nbd-work"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let secretFile = "\(work)/alice.secret"
        try "alice-secret-123456\n".write(toFile: secretFile, atomically: true, encoding: .utf8)
        let gateway = try ServiceProcess("atrest-nbd", [
            "--endpoint", cluster.frontDoor.endpoint, "--tenant", "t1", "--user", "alice", "--secret-file", secretFile,
            "--listen", "127.0.0.1:0", "--export", "nbd-acct/vm-disk",
        ])
        defer { _ = gateway.terminate() }
        let listen = try #require(gateway.endpoint.hasPrefix("nbd://") ? gateway.endpoint : nil, "ready line: \(gateway.fields)")
        let uri = "\(listen)/nbd-acct/vm-disk"

        // nbdinfo: the export's name and size, and what it can do.
        let info = try await tool("nbdinfo", ["--json", uri], in: work)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
        let export = try #require((json["exports"] as? [[String: Any]])?.first)
        #expect(export["export-name"] as? String == "nbd-acct/vm-disk")
        #expect((export["export-size"] as? NSNumber)?.intValue == Self.size)
        #expect(export["can_multi_conn"] as? Bool == true && export["can_trim"] as? Bool == true)

        // A random image with marker pages, in with qemu-img and back out, byte-exact.
        var image = [UInt8](repeating: 0, count: Self.size)
        var generator = SystemRandomNumberGenerator()
        for index in stride(from: 0, to: Self.size, by: 8) {
            withUnsafeBytes(of: generator.next() as UInt64) { image.replaceSubrange(index ..< index + 8, with: $0) }
        }
        let markerPage = (0 ..< 4096).map { Self.marker[$0 % Self.marker.count] }
        for page in [0, 1, 4097, 16_383] { image.replaceSubrange(page * 4096 ..< (page + 1) * 4096, with: markerPage) }
        let source = "\(work)/source.raw"
        try Data(image).write(to: URL(fileURLWithPath: source))
        try await tool("qemu-img", ["convert", "-n", "-f", "raw", "-O", "raw", source, uri], in: work)
        // What qemu wrote is in AtRest: read back through DiskClient, not the gateway.
        #expect(try await disks.getPages("vm-disk", offset: 4097 * 4096, length: 4096) == markerPage)
        let out = "\(work)/out.raw"
        try await tool("qemu-img", ["convert", "-f", "raw", "-O", "raw", uri, out], in: work)
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == Data(image), "qemu-img read back other bytes")

        // nbdcopy streams the export (four connections).
        let copied = "\(work)/copied.raw"
        try await tool("nbdcopy", ["--connections=4", uri, copied], in: work)
        #expect(try Data(contentsOf: URL(fileURLWithPath: copied)) == Data(image), "nbdcopy read back other bytes")

        // The disk deleted under a connected client: its next read gets EIO (libnbd's
        // Python binding, which nbdsh runs), and the gateway keeps serving a re-created disk.
        let script = """
        import errno, nbd, os, sys, time
        h = nbd.NBD()
        h.connect_uri(sys.argv[1])
        h.pread(4096, 0)
        open(sys.argv[2], "w").write("connected")
        while not os.path.exists(sys.argv[3]):
            time.sleep(0.05)
        try:
            h.pread(4096, 0)
        except nbd.Error as e:
            print("errno", e.errno)
            sys.exit(0 if e.errno in (errno.EIO, "EIO") else 2)
        print("the read of a deleted disk succeeded")
        sys.exit(1)
        """
        try script.write(toFile: "\(work)/deleted.py", atomically: true, encoding: .utf8)
        let connected = "\(work)/connected", proceed = "\(work)/proceed"
        let ended = "\(work)/reader-ended"
        let reader = Task {
            let output = try await ClientTools.run("/usr/bin/python3", ["\(work)/deleted.py", uri, connected, proceed], in: work)
            _ = FileManager.default.createFile(atPath: ended, contents: nil)
            return output
        }
        // Waits for the script's connection (or its early end: then its transcript tells why).
        while !FileManager.default.fileExists(atPath: connected), !FileManager.default.fileExists(atPath: ended) {
            try await Task.sleep(for: .milliseconds(20))
        }
        try await disks.delete("vm-disk")
        _ = FileManager.default.createFile(atPath: proceed, contents: nil)
        let afterDelete = try await reader.value
        #expect(afterDelete.status == 0, "\(afterDelete.transcript)")
        #expect(gateway.isRunning)
        try await disks.create("vm-disk", size: 1 << 20)
        let again = try await tool("nbdinfo", ["--size", uri], in: work)
        #expect(again.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == String(1 << 20))

        // A reader of the account behind a gateway: reads work, a write gets EPERM (the front door's PERMISSION_DENIED).
        _ = try await cluster.adminIdentity().createUser(tenant: "t1", name: "carol", secret: "carol-secret-123456")
        _ = try await cluster.adminIdentity().grantRole(IdentityRoleRequest(tenant: "t1", name: "carol", role: "accountReader:nbd-acct"))
        try "carol-secret-123456".write(toFile: "\(work)/carol.secret", atomically: true, encoding: .utf8)
        let readerGateway = try ServiceProcess("atrest-nbd", [
            "--endpoint", cluster.frontDoor.endpoint, "--tenant", "t1", "--user", "carol", "--secret-file", "\(work)/carol.secret",
            "--listen", "127.0.0.1:0", "--export", "nbd-acct/vm-disk",
        ])
        defer { _ = readerGateway.terminate() }
        let readerScript = """
        import errno, nbd, sys
        h = nbd.NBD()
        h.connect_uri(sys.argv[1])
        assert h.pread(4096, 0) == bytes(4096)
        try:
            h.pwrite(bytes(512), 0)
        except nbd.Error as e:
            print("errno", e.errno)
            sys.exit(0 if e.errno in (errno.EPERM, "EPERM") else 2)
        sys.exit(1)
        """
        try readerScript.write(toFile: "\(work)/reader.py", atomically: true, encoding: .utf8)
        let asReader = try await ClientTools.run("/usr/bin/python3", ["\(work)/reader.py", "\(readerGateway.endpoint)/nbd-acct/vm-disk"], in: work)
        #expect(asReader.status == 0, "\(asReader.transcript)")

        // No plaintext at rest: no file under the cluster's data directories holds a marker
        // (the test's own images under nbd-work are left out).
        try? FileManager.default.removeItem(atPath: work)
        let files = cluster.allFiles()
        #expect(!files.isEmpty)
        for file in files {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
            #expect(bytes.range(of: Data(Self.marker)) == nil, "plaintext marker found in \(file)")
        }
    }

    /// `atrest disk serve` serves a disk to qemu-io with the CLI's saved
    /// login, and with `--user` logging in itself (atrest-nbd's renewing
    /// session, `GatewayLogin`) without any saved login; refusals are clear.
    @Test func theCLIServesADisk() async throws {
        let cluster = try LocalCluster.blobCluster()
        defer { cluster.stop() }
        try await cluster.waitForWorkers(count: 2)
        _ = try await cluster.bootstrapUsers()
        let env = ["ATREST_CONFIG": "\(cluster.root)/cli/config.json"]
        let secretFile = "\(cluster.root)/alice.secret"
        try "alice-secret-123456".write(toFile: secretFile, atomically: true, encoding: .utf8)
        let endpoint = ["--endpoint", cluster.frontDoor.endpoint]
        #expect(try await runTool("atrest", ["login", "--tenant", "t1", "--user", "alice", "--secret-file", secretFile] + endpoint, environment: env).status == 0)
        #expect(try await runTool("atrest", ["account", "create", "serve-acct"] + endpoint, environment: env).status == 0)
        #expect(try await runTool("atrest", ["disk", "create", "serve-acct/small", "--size", "4MiB"] + endpoint, environment: env).status == 0)
        let serving = try ServiceProcess("atrest", ["disk", "serve", "serve-acct/small", "--listen", "127.0.0.1:0"] + endpoint, environment: env)
        defer { _ = serving.terminate() }
        let uri = serving.endpoint
        #expect(uri.hasSuffix("/serve-acct/small"), "\(serving.fields)")
        let written = try await tool("qemu-io", ["-f", "raw", "-c", "write -P 0x5a 4096 64k", "-c", "read -P 0x5a 4096 64k", "-c", "read -P 0 0 4096", uri],
                                     in: cluster.root)
        #expect(!written.stdout.contains("Pattern verification failed"), "\(written.transcript)")
        let token = try await cluster.token(tenant: "t1", "alice", "alice-secret-123456")
        let disk = DiskClient(ServiceClient(rpc: cluster.client, token: token), account: "serve-acct")
        #expect(try await disk.getPages("small", offset: 4096, length: 65536) == [UInt8](repeating: 0x5a, count: 65536))
        _ = serving.terminate()

        // --user: the gateway logs in itself and renews its token; no saved login (a config file that does not exist).
        let noLogin = ["ATREST_CONFIG": "\(cluster.root)/cli-none/config.json"]
        let renewing = try ServiceProcess("atrest", ["disk", "serve", "serve-acct/small", "--listen", "127.0.0.1:0",
                                                     "--tenant", "t1", "--user", "alice", "--secret-file", secretFile] + endpoint, environment: noLogin)
        defer { _ = renewing.terminate() }
        let rewritten = try await tool("qemu-io", ["-f", "raw", "-c", "read -P 0x5a 4096 64k", "-c", "write -P 0xa5 0 4096", renewing.endpoint],
                                       in: cluster.root)
        #expect(!rewritten.stdout.contains("Pattern verification failed"), "\(rewritten.transcript)")
        #expect(try await disk.getPages("small", offset: 0, length: 4096) == [UInt8](repeating: 0xa5, count: 4096))
        #expect(FileManager.default.contents(atPath: "\(cluster.root)/cli-none/config.json") == nil, "--user saves nothing")

        // Refusals, each before serving anything: no login at all, a wrong secret, --secret-file without --user.
        let serve = ["disk", "serve", "serve-acct/small", "--listen", "127.0.0.1:0"] + endpoint
        let notLoggedIn = try await runTool("atrest", serve, environment: noLogin, killAfter: .seconds(60))
        #expect(notLoggedIn.status == 4 && notLoggedIn.err.contains("not logged in"), "\(notLoggedIn)")
        let wrongFile = "\(cluster.root)/wrong.secret"
        try "not-alice-secret-000000".write(toFile: wrongFile, atomically: true, encoding: .utf8)
        let wrong = try await runTool("atrest", serve + ["--tenant", "t1", "--user", "alice", "--secret-file", wrongFile], environment: noLogin,
                                      killAfter: .seconds(60))
        #expect(wrong.status == 4 && !wrong.err.contains("not-alice-secret"), "\(wrong)")
        let stray = try await runTool("atrest", serve + ["--secret-file", secretFile], environment: env, killAfter: .seconds(60))
        #expect(stray.status == 2 && stray.err.contains("--user"), "\(stray)")
    }

    @discardableResult
    func tool(_ name: String, _ arguments: [String], in directory: String) async throws -> ClientTools.Output {
        let path = "/usr/bin/\(name)"
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw NBDToolFailure(description: "\(path) is missing; run scripts/setup.sh --test (qemu-utils, libnbd-bin)")
        }
        let output = try await ClientTools.run(path, arguments, in: directory)
        guard output.status == 0 else { throw NBDToolFailure(description: "\(name) \(arguments.joined(separator: " ")) failed: \(output.transcript)") }
        return output
    }
}

struct NBDToolFailure: Error, CustomStringConvertible { var description: String }
