import AtRestClient
import AtRestIdentity
import AtRestMessaging
import AtRestTesting
import AtRestWire
import Foundation
import Glibc

/// The real services for the end-to-end benches: identity, vault, front door
/// and `workers` crypto workers on tcp://127.0.0.1:*, started from the
/// directory of the `atrest-bench` executable itself (so a release bench
/// measures release services), plus one user owning one account with
/// container "bench". Every data directory is under `root`; the workers'
/// object store under `objectsRoot` (e.g. tmpfs for the scale bench).
final class BenchCluster: @unchecked Sendable {
    let root: String
    let identity: ServiceProcess
    let vault: ServiceProcess
    let frontDoor: ServiceProcess
    private(set) var workers: [ServiceProcess] = []
    let objects: String
    private(set) var blobs: BlobClient!
    private let rpc: RPCClient

    /// The directory holding the running `atrest-bench` (from /proc/self/exe).
    static var binDirectory: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().path
    }

    init(workers count: Int, root: String, objectsRoot: String? = nil, credit: Int = 8) async throws {
        self.root = root
        objects = (objectsRoot ?? root) + "/objects"
        try FileManager.default.createDirectory(atPath: objects, withIntermediateDirectories: true)
        let bin = Self.binDirectory
        identity = try ServiceProcess("\(bin)/atrest-identity", [
            "--endpoint", "tcp://127.0.0.1:*", "--data-dir", "\(root)/identity", "--service-principal", "frontdoor",
            "--service-principal", "worker", "--service-principal", "keyvault", "--log-level", "warning",
        ])
        vault = try ServiceProcess("\(bin)/atrest-keyvault", [
            "--endpoint", "tcp://127.0.0.1:*", "--events-endpoint", "tcp://127.0.0.1:*", "--data-dir", "\(root)/vault",
            "--identity-endpoint", identity.endpoint, "--credentials-file", "\(root)/identity/credentials/keyvault.secret",
            "--log-level", "warning",
        ])
        frontDoor = try ServiceProcess("\(bin)/atrest-frontdoor", [
            "--endpoint", "tcp://127.0.0.1:*", "--workers", "tcp://127.0.0.1:*", "--identity", identity.endpoint,
            "--vault", vault.endpoint, "--vault-events", vault.fields["events"] ?? "", "--data-dir", "\(root)/frontdoor",
            "--credentials-file", "\(root)/identity/credentials/frontdoor.secret", "--log-level", "warning",
        ])
        rpc = try RPCClient(endpoint: frontDoor.endpoint)
        for index in 0..<count {
            workers.append(try ServiceProcess("\(bin)/atrest-worker", [
                "--frontdoor", frontDoor.fields["workers"] ?? "", "--identity", identity.endpoint, "--vault", vault.endpoint,
                "--vault-events", vault.fields["events"] ?? "", "--data-dir", objects,
                "--credentials-file", "\(root)/identity/credentials/worker.secret", "--name", "bench-w\(index)",
                "--credit", "\(credit)", "--log-level", "warning",
            ]))
        }
        blobs = try await bootstrap()
        try await waitForWorkers(count)
    }

    /// Tenant t1, user `bench` owning account `bench` with container `bench`.
    private func bootstrap() async throws -> BlobClient {
        let adminSecret = try String(contentsOfFile: "\(root)/identity/credentials/admin.secret", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let admin = try await login("", "admin", adminSecret)
        let bearer = ["authorization": "Bearer " + admin]
        _ = try await rpc.call("atrest.v1.Identity/CreateTenant", request: IdentityCreateTenantRequest(tenant: "t1"),
                               as: IdentityTenant.self, metadata: bearer)
        _ = try await rpc.call("atrest.v1.Identity/CreateUser",
                               request: IdentityCreateUserRequest(tenant: "t1", name: "bench", secret: "bench-secret-123456"),
                               as: IdentityCreatedPrincipal.self, metadata: bearer)
        let user = try await login("t1", "bench", "bench-secret-123456")
        _ = try await rpc.call("atrest.v1.Account/Create", request: AccountCreateRequest(accountID: "bench"), as: AccountInfo.self,
                               metadata: ["authorization": "Bearer " + user])
        let client = BlobClient(ServiceClient(rpc: rpc, token: user, timeout: .seconds(60)), account: "bench")
        try await client.createContainer("bench")
        return client
    }

    private func login(_ tenant: String, _ name: String, _ secret: String) async throws -> String {
        try await rpc.call("atrest.v1.Identity/Login", request: IdentityLoginRequest(tenant: tenant, clientID: name, secret: secret),
                           as: IdentityToken.self).message.token
    }

    /// Waits (bounded) until the front door has `count` workers connected.
    private func waitForWorkers(_ count: Int) async throws {
        for _ in 0..<400 {
            let status = try await rpc.call(StatusMethod.get, request: StatusRequest(), as: StatusReply.self, timeout: .seconds(5)).message
            if status.workers.count == count { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw RPCStatus(.deadlineExceeded, "the front door never saw \(count) workers")
    }

    func stop() {
        rpc.close()
        for worker in workers { _ = worker.terminate() }
        _ = frontDoor.terminate()
        _ = vault.terminate()
        _ = identity.terminate()
        try? FileManager.default.removeItem(atPath: root)
        try? FileManager.default.removeItem(atPath: objects)
    }

    /// A fresh temp directory under `parent`.
    static func temporaryDirectory(under parent: String = NSTemporaryDirectory(), _ tag: String) -> String {
        let path = (parent.hasSuffix("/") ? parent : parent + "/") + "atrest-\(tag)-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// CPU seconds (user + system) of a process from /proc/<pid>/stat.
enum ProcessCPU {
    static func seconds(pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        // Fields after "comm)": state is field 3, utime 14, stime 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// This process's own CPU seconds.
    static func selfSeconds() -> Double { seconds(pid: getpid()) }
}
