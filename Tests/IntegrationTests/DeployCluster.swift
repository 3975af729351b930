import AtRestClient
import AtRestIdentity
import AtRestMessaging
import AtRestStatus
import AtRestTesting
import AtRestWire
import Foundation

/// A cluster laid out as an operator would: identity, vault and the front
/// door's worker side bound on `serviceHost` (loopback, another loopback
/// address, or a veth address in a namespace the test made), clients on
/// 127.0.0.1, each worker started with its own launcher (e.g. `ip netns exec`)
/// and a status endpoint. The vault binds fixed ports once known, so it can be
/// SIGKILLed and restarted on the same endpoints.
final class DeployCluster: @unchecked Sendable {
    let root: String
    let serviceHost: String
    let identity: ServiceProcess
    private(set) var vault: ServiceProcess
    let frontDoor: ServiceProcess
    private(set) var workers: [String: ServiceProcess] = [:]
    let client: RPCClient
    private let vaultEndpoint: String
    private let vaultEvents: String

    init(serviceHost: String = "127.0.0.1", root: String? = nil) throws {
        self.root = root ?? NSTemporaryDirectory() + "atrest-deploy-\(UUID().uuidString.prefix(8))"
        self.serviceHost = serviceHost
        try FileManager.default.createDirectory(atPath: self.root, withIntermediateDirectories: true)
        let r = self.root
        identity = try ServiceProcess("atrest-identity", [
            "--endpoint", "tcp://\(serviceHost):*", "--data-dir", "\(r)/identity", "--service-principal", "frontdoor",
            "--service-principal", "worker", "--service-principal", "keyvault", "--log-level", "warning",
        ])
        vault = try ServiceProcess("atrest-keyvault", Self.vaultArguments(r, endpoint: "tcp://\(serviceHost):*",
                                                                          events: "tcp://\(serviceHost):*", identity: identity.endpoint))
        vaultEndpoint = vault.endpoint
        vaultEvents = vault.fields["events"] ?? ""
        frontDoor = try ServiceProcess("atrest-frontdoor", [
            "--endpoint", "tcp://127.0.0.1:*", "--workers", "tcp://\(serviceHost):*", "--identity", identity.endpoint,
            "--vault", vaultEndpoint, "--vault-events", vaultEvents, "--data-dir", "\(r)/frontdoor",
            "--credentials-file", "\(r)/identity/credentials/frontdoor.secret", "--log-level", "warning",
        ])
        client = try RPCClient(endpoint: frontDoor.endpoint)
    }

    private static func vaultArguments(_ root: String, endpoint: String, events: String, identity: String) -> [String] {
        ["--endpoint", endpoint, "--events-endpoint", events, "--data-dir", "\(root)/vault", "--identity-endpoint", identity,
         "--credentials-file", "\(root)/identity/credentials/keyvault.secret", "--log-level", "warning"]
    }

    /// Starts a worker; `launcher` is prepended (e.g. ["/usr/sbin/ip", "netns", "exec", ns]).
    @discardableResult
    func addWorker(_ name: String, launcher: [String] = [], statusHost: String = "127.0.0.1", credit: Int = 4) throws -> ServiceProcess {
        let arguments = [
            "--frontdoor", frontDoor.fields["workers"] ?? "", "--identity", identity.endpoint, "--vault", vaultEndpoint,
            "--vault-events", vaultEvents, "--data-dir", "\(root)/objects",
            "--credentials-file", "\(root)/identity/credentials/worker.secret", "--name", name, "--credit", "\(credit)",
            "--status-endpoint", "tcp://\(statusHost):*", "--log-level", "warning",
        ]
        let binary = ServiceProcess.binDirectory.appendingPathComponent("atrest-worker").path
        let worker = launcher.isEmpty ? try ServiceProcess("atrest-worker", arguments)
            : try ServiceProcess(launcher[0], Array(launcher.dropFirst()) + [binary] + arguments)
        workers[name] = worker
        return worker
    }

    /// SIGKILL the vault and start it again on the same endpoints and state.
    func restartVault(after pause: Duration = .zero) throws {
        vault.kill()
        if pause > .zero { Thread.sleep(forTimeInterval: Double(pause.components.seconds) + Double(pause.components.attoseconds) / 1e18) }
        vault = try ServiceProcess("atrest-keyvault", Self.vaultArguments(root, endpoint: vaultEndpoint, events: vaultEvents,
                                                                           identity: identity.endpoint))
    }

    func status(_ endpoint: String) async throws -> StatusReply {
        let rpc = try RPCClient(endpoint: endpoint)
        defer { rpc.close() }
        return try await rpc.call(StatusMethod.get, request: StatusRequest(), as: StatusReply.self, timeout: .seconds(5)).message
    }

    /// Waits (bounded) until the front door sees exactly `names` as its workers.
    func waitForWorkers(_ names: Set<String>) async throws {
        for _ in 0..<400 {
            if Set(try await status(frontDoor.endpoint).workers.map(\.name)) == names { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw RPCStatus(.deadlineExceeded, "front door never saw workers \(names.sorted())")
    }

    func secret(_ name: String) throws -> String {
        try String(contentsOfFile: "\(root)/identity/credentials/\(name).secret", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func login(tenant: String = "", _ name: String, _ secret: String) async throws -> [String: String] {
        let token = try await client.call("atrest.v1.Identity/Login", request: IdentityLoginRequest(tenant: tenant, clientID: name, secret: secret),
                                          as: IdentityToken.self).message
        return ["authorization": "Bearer " + token.token]
    }

    /// User `ops` in tenant t1 owning `accounts` (each with container "ops"); returns per-account metadata.
    func bootstrap(accounts: [String]) async throws -> [String: [String: String]] {
        let admin = try await login("admin", try secret("admin"))
        _ = try await client.call("atrest.v1.Identity/CreateTenant", request: IdentityCreateTenantRequest(tenant: "t1"),
                                  as: IdentityTenant.self, metadata: admin)
        _ = try await client.call("atrest.v1.Identity/CreateUser",
                                  request: IdentityCreateUserRequest(tenant: "t1", name: "ops", secret: "ops-secret-123456"),
                                  as: IdentityCreatedPrincipal.self, metadata: admin)
        _ = try await client.call("atrest.v1.Identity/GrantRole",
                                  request: IdentityRoleRequest(tenant: "", name: "frontdoor", role: "keyAdministrator"),
                                  as: IdentityPrincipal.self, metadata: admin)
        let user = try await login(tenant: "t1", "ops", "ops-secret-123456")
        var result: [String: [String: String]] = [:]
        for account in accounts {
            _ = try await client.call("atrest.v1.Account/Create", request: AccountCreateRequest(accountID: account), as: AccountInfo.self, metadata: user)
            let metadata = user.merging(["account": account]) { $1 }
            _ = try await client.call(BlobMethod.createContainer, request: ContainerRequest(container: "ops"), as: EmptyMessage.self, metadata: metadata)
            result[account] = metadata
        }
        return result
    }

    func put(_ name: String, _ data: [UInt8], _ metadata: [String: String], idempotencyKey: String = "", timeout: Duration = .seconds(30)) async throws {
        _ = try await client.call(BlobMethod.put, request: BlobPutRequest(container: "ops", name: name), as: BlobProperties.self,
                                  payload: data.isEmpty ? [] : [data], timeout: timeout, metadata: metadata,
                                  idempotencyKey: idempotencyKey)
    }

    func get(_ name: String, _ metadata: [String: String], timeout: Duration = .seconds(30)) async throws -> [UInt8] {
        try await client.call(BlobMethod.get, request: BlobGetRequest(container: "ops", name: name), as: BlobGetResponse.self,
                              timeout: timeout, metadata: metadata, idempotent: true).payload.flatMap { $0 }
    }

    func stop() {
        client.close()
        for worker in workers.values { _ = worker.terminate() }
        _ = frontDoor.terminate()
        _ = vault.terminate()
        _ = identity.terminate()
        try? FileManager.default.removeItem(atPath: root)
    }
}
