import AtRestIdentity
import AtRestTesting
import AtRestWire

/// The deployment tests' cluster, laid out as an operator would: identity,
/// vault and the front door's worker side on `serviceHost`, clients on
/// 127.0.0.1, each worker (added by the test) with credit 4 and a status
/// endpoint on 127.0.0.1 unless the test says otherwise.
extension LocalCluster {
    static func deployCluster(serviceHost: String = "127.0.0.1") throws -> LocalCluster {
        try LocalCluster(deployClusterOptions(serviceHost: serviceHost))
    }

    static func deployClusterOptions(serviceHost: String = "127.0.0.1") -> Options {
        .init(rootTag: "deploy", serviceHost: serviceHost, workerCredit: 4, workerStatusHost: "127.0.0.1")
    }

    /// User `ops` in tenant t1 owning `accounts` (each with container "ops"),
    /// as an operator sets it up: the front door needs no role beyond its
    /// service principal's (docs/OPERATIONS.md). Returns per-account metadata.
    func bootstrap(accounts: [String]) async throws -> [String: [String: String]] {
        let admin = try await adminIdentity()
        _ = try await admin.createTenant("t1")
        _ = try await admin.createUser(tenant: "t1", name: "ops", secret: "ops-secret-123456")
        let user = try await login(tenant: "t1", "ops", "ops-secret-123456")
        var result: [String: [String: String]] = [:]
        for account in accounts {
            _ = try await client.call("atrest.v1.Account/Create", request: AccountCreateRequest(accountID: account), as: AccountInfo.self, metadata: user)
            let metadata = user.merging(["account": account]) { $1 }
            _ = try await client.call(BlobMethod.createContainer.name, request: ContainerRequest(container: "ops"), as: EmptyMessage.self, metadata: metadata)
            result[account] = metadata
        }
        return result
    }

    func put(_ name: String, _ data: [UInt8], _ metadata: [String: String], idempotencyKey: String = "", timeout: Duration = .seconds(30)) async throws {
        _ = try await client.call(BlobMethod.put.name, request: BlobPutRequest(container: "ops", name: name), as: BlobProperties.self,
                                  payload: data.isEmpty ? [] : [data], timeout: timeout, metadata: metadata,
                                  idempotencyKey: idempotencyKey)
    }

    func get(_ name: String, _ metadata: [String: String], timeout: Duration = .seconds(30)) async throws -> [UInt8] {
        try await client.call(BlobMethod.get.name, request: BlobGetRequest(container: "ops", name: name), as: BlobGetResponse.self,
                              timeout: timeout, metadata: metadata, idempotent: true).payload.flatMap { $0 }
    }
}
