import AtRestClient
import AtRestIdentity
import AtRestKeyVault
import AtRestTesting
import AtRestWire
import Foundation

/// A real atrest-identity and atrest-keyvault on tcp://127.0.0.1:* (no front
/// door: the tests call them directly; flags as in `LocalCluster`), with the
/// bootstrap admin logged in and made key administrator.
final class IdentityVaultFixture: @unchecked Sendable {
    let directory: String
    private(set) var identity: ServiceProcess
    private(set) var vault: ServiceProcess
    let admin: ServiceClient
    let adminVault: VaultClient
    let adminIdentity: IdentityClient
    var identityEndpoint: String { identity.endpoint }
    var vaultEndpoint: String { vault.endpoint }
    var eventsEndpoint: String { vault.fields["events"] ?? "" }

    init(providers: [String] = ["managed", "customer"]) async throws {
        directory = NSTemporaryDirectory() + "atrest-it-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        identity = try Self.startIdentity(directory)
        vault = try Self.startVault(directory, identityEndpoint: identity.endpoint, providers: providers)
        admin = try ServiceClient(endpoint: identity.endpoint, timeout: .seconds(10))
        adminIdentity = IdentityClient(admin)
        let secret = try Self.secret(directory, "admin")
        admin.bearerToken = try await adminIdentity.login(clientID: "admin", secret: secret).token
        _ = try await adminIdentity.grantRole(IdentityRoleRequest(tenant: "system", name: "admin", role: "keyAdministrator"))
        // The new role is in the next token.
        let token = try await adminIdentity.login(clientID: "admin", secret: secret).token
        admin.bearerToken = token
        adminVault = VaultClient(try ServiceClient(endpoint: vault.endpoint, token: token, timeout: .seconds(10)))
    }

    static func startIdentity(_ directory: String) throws -> ServiceProcess {
        try ServiceProcess("atrest-identity", LocalCluster.identityArguments(root: directory))
    }

    static func startVault(_ directory: String, identityEndpoint: String, providers: [String]) throws -> ServiceProcess {
        try ServiceProcess("atrest-keyvault", LocalCluster.vaultArguments(root: directory, identity: identityEndpoint)
            + providers.flatMap { ["--provider", $0] })
    }

    static func secret(_ directory: String, _ name: String) throws -> String { try LocalCluster.secret(root: directory, name) }

    /// Restarts the identity service on the same data directory (new port).
    func restartIdentity() throws {
        _ = identity.terminate()
        identity = try Self.startIdentity(directory)
    }

    /// Stops the vault (SIGTERM: it anchors its audit log on the way out).
    func stopVault() { _ = vault.terminate() }

    /// Starts the vault again on the same data directory (new port).
    func startVault(providers: [String] = ["managed", "customer"]) throws {
        vault = try Self.startVault(directory, identityEndpoint: identity.endpoint, providers: providers)
    }

    /// A client of `endpoint` with a fresh login.
    func login(tenant: String = "", _ name: String, secret: String) async throws -> String {
        let client = try ServiceClient(endpoint: identity.endpoint, timeout: .seconds(10))
        defer { client.close() }
        return try await IdentityClient(client).login(tenant: tenant, clientID: name, secret: secret).token
    }

    func vaultClient(token: String?) throws -> VaultClient {
        VaultClient(try ServiceClient(endpoint: vault.endpoint, token: token, timeout: .seconds(10)))
    }

    func identityClient(token: String?) throws -> IdentityClient {
        IdentityClient(try ServiceClient(endpoint: identity.endpoint, token: token, timeout: .seconds(10)))
    }

    /// A token for `account`'s managed identity, obtained as the worker service (the way a worker gets it).
    func managedIdentityToken(account: String, tenant: String) async throws -> (token: String, principal: String) {
        let worker = try identityClient(token: try await login("worker", secret: try Self.secret(directory, "worker")))
        defer { worker.base.close() }
        let identity = try? await worker.accountIdentity(account: account)
        let created: IdentityManagedIdentity
        if let identity { created = identity } else { created = try await worker.createManagedIdentity(account: account, tenant: tenant) }
        return (try await worker.managedIdentityToken(account: account).token, created.principalID)
    }

    func shutdown() {
        admin.close()
        adminVault.base.close()
        _ = vault.terminate()
        _ = identity.terminate()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Runs an executable from the bin directory to completion without blocking
/// the cooperative pool; returns (exit status, stdout, stderr). With
/// `killAfter`, a process still running then is killed (SIGKILL): for tools
/// that must exit on their own, so a regression fails instead of hanging.
func runTool(_ name: String, _ arguments: [String], environment: [String: String] = [:],
             killAfter: Duration? = nil) async throws -> (status: Int32, out: String, err: String) {
    let process = Process()
    process.executableURL = ServiceProcess.binDirectory.appendingPathComponent(name)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    return try await withCheckedThrowingContinuation { continuation in
        process.terminationHandler = { finished in
            let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            continuation.resume(returning: (finished.terminationStatus, stdout, stderr))
        }
        do { try process.run() } catch { continuation.resume(throwing: error); return }
        if let killAfter {
            let pid = process.processIdentifier
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(killAfter / .milliseconds(1)))) {
                if process.isRunning { kill(pid, SIGKILL) }
            }
        }
    }
}
