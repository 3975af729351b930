import AtRestIdentity
import AtRestKeyVault
import AtRestMessaging
import AtRestTesting
import AtRestWire
import Foundation

/// The five real processes on tcp://127.0.0.1:*, each with its own data
/// directory in a temp dir (the two workers share the object store
/// directory, as workers on several hosts share a filesystem).
final class BlobCluster: @unchecked Sendable {
    let root: String
    let identity: ServiceProcess
    let vault: ServiceProcess
    let frontDoor: ServiceProcess
    var workers: [ServiceProcess] = []
    let client: RPCClient

    init() throws {
        root = NSTemporaryDirectory() + "atrest-blob-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        identity = try ServiceProcess("atrest-identity", [
            "--endpoint", "tcp://127.0.0.1:*", "--data-dir", "\(root)/identity", "--service-principal", "frontdoor",
            "--service-principal", "worker", "--service-principal", "keyvault", "--log-level", "warning",
        ])
        vault = try ServiceProcess("atrest-keyvault", [
            "--endpoint", "tcp://127.0.0.1:*", "--events-endpoint", "tcp://127.0.0.1:*", "--data-dir", "\(root)/vault",
            "--identity-endpoint", identity.endpoint, "--credentials-file", "\(root)/identity/credentials/keyvault.secret",
            "--log-level", "warning",
        ])
        frontDoor = try ServiceProcess("atrest-frontdoor", [
            "--endpoint", "tcp://127.0.0.1:*", "--workers", "tcp://127.0.0.1:*", "--identity", identity.endpoint,
            "--vault", vault.endpoint, "--vault-events", vault.fields["events"] ?? "", "--data-dir", "\(root)/frontdoor",
            "--credentials-file", "\(root)/identity/credentials/frontdoor.secret", "--log-level", "warning",
        ])
        client = try RPCClient(endpoint: frontDoor.endpoint)
        for index in 0..<2 { try addWorker(name: "w\(index)") }
    }

    @discardableResult
    func addWorker(name: String) throws -> ServiceProcess {
        let worker = try ServiceProcess("atrest-worker", [
            "--frontdoor", frontDoor.fields["workers"] ?? "", "--identity", identity.endpoint, "--vault", vault.endpoint,
            "--vault-events", vault.fields["events"] ?? "", "--data-dir", "\(root)/objects",
            "--credentials-file", "\(root)/identity/credentials/worker.secret", "--name", name, "--log-level", "warning",
        ])
        workers.append(worker)
        return worker
    }

    func secret(_ name: String) throws -> String {
        try String(contentsOfFile: "\(root)/identity/credentials/\(name).secret", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func login(tenant: String = "", _ name: String, _ secret: String) async throws -> [String: String] {
        let token = try await client.call("atrest.v1.Identity/Login",
                                          request: IdentityLoginRequest(tenant: tenant, clientID: name, secret: secret),
                                          as: IdentityToken.self).message
        return ["authorization": "Bearer " + token.token]
    }

    /// Users alice and bob in tenant t1 (alice also a key administrator). The
    /// front door needs no extra role: as a service it may create `managed`
    /// keys and grant access on them.
    func bootstrapUsers() async throws -> (alice: [String: String], bob: [String: String]) {
        let admin = try await login("admin", try secret("admin"))
        _ = try await client.call("atrest.v1.Identity/CreateTenant", request: IdentityCreateTenantRequest(tenant: "t1"),
                                  as: IdentityTenant.self, metadata: admin)
        for name in ["alice", "bob"] {
            _ = try await client.call("atrest.v1.Identity/CreateUser",
                                      request: IdentityCreateUserRequest(tenant: "t1", name: name, secret: "\(name)-secret-123456"),
                                      as: IdentityCreatedPrincipal.self, metadata: admin)
        }
        _ = try await client.call("atrest.v1.Identity/GrantRole",
                                  request: IdentityRoleRequest(tenant: "t1", name: "alice", role: "keyAdministrator"),
                                  as: IdentityPrincipal.self, metadata: admin)
        return (try await login(tenant: "t1", "alice", "alice-secret-123456"),
                try await login(tenant: "t1", "bob", "bob-secret-123456"))
    }

    func stop() {
        client.close()
        for worker in workers { _ = worker.terminate() }
        _ = frontDoor.terminate()
        _ = vault.terminate()
        _ = identity.terminate()
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Every regular file under the cluster's data directories.
    func allFiles() -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: root)
        var files: [String] = []
        while let path = enumerator?.nextObject() as? String {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: "\(root)/\(path)", isDirectory: &isDir), !isDir.boolValue {
                files.append("\(root)/\(path)")
            }
        }
        return files
    }
}
