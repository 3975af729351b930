import AtRestClient
import AtRestMessaging
import AtRestTokens
import AtRestWire

/// Calls every user of a `LocalCluster` needs before its own work: log in,
/// act as the bootstrap admin, read `Status` and wait for workers to join.
extension LocalCluster {
    /// A bearer token for `name` (tenant "" for the admin and service principals).
    public func token(tenant: String = "", _ name: String, _ secret: String) async throws -> String {
        try await identityClient().login(tenant: tenant, clientID: name, secret: secret).token
    }

    /// `["authorization": "Bearer …"]` for `name`, ready to pass as call metadata.
    public func login(tenant: String = "", _ name: String, _ secret: String) async throws -> [String: String] {
        ["authorization": "Bearer " + (try await token(tenant: tenant, name, secret))]
    }

    /// The identity API through the front door, as `token` (nil: anonymous).
    public func identityClient(token: String? = nil) -> IdentityClient {
        IdentityClient(ServiceClient(rpc: client, token: token))
    }

    /// The identity API as the bootstrap admin (from the identity's `admin` credential file).
    public func adminIdentity() async throws -> IdentityClient {
        identityClient(token: try await token("admin", try secret("admin")))
    }

    /// The `Status` reply of the service at `endpoint` (front door, worker status endpoint, …).
    public func status(_ endpoint: String) async throws -> StatusReply {
        let rpc = try RPCClient(endpoint: endpoint, configuration: RPCClientConfiguration(curve: curveClient(for: endpoint)))
        defer { rpc.close() }
        return try await rpc.call(StatusMethod.get.name, request: StatusRequest(), as: StatusReply.self, timeout: .seconds(5)).message
    }

    /// With CURVE on, the cluster client's keys for the service at `endpoint`
    /// (front doors, identity, vault); nil for plain endpoints (workers' status).
    public func curveClient(for endpoint: String) -> CurveClientConfiguration? {
        guard let curve else { return nil }
        if endpoint == identity.endpoint { return curve.client(serverKey: curve.identityKey) }
        if endpoint == vaultEndpoint { return curve.client(serverKey: curve.vaultKey) }
        if ([frontDoor] + extraFrontDoors).contains(where: { $0.endpoint == endpoint }) { return curve.client(serverKey: curve.frontDoorKey) }
        return nil
    }

    /// Waits (bounded, about 10 s) until the front door sees exactly `names` as its workers.
    public func waitForWorkers(_ names: Set<String>) async throws {
        try await waitForFrontDoor("workers \(names.sorted())") { Set($0.workers.map(\.name)) == names }
    }

    /// Waits (bounded, about 10 s) until the front door has `count` workers connected.
    public func waitForWorkers(count: Int) async throws {
        try await waitForFrontDoor("\(count) workers") { $0.workers.count == count }
    }

    private func waitForFrontDoor(_ what: String, _ done: (StatusReply) -> Bool) async throws {
        for _ in 0..<400 {
            if done(try await status(frontDoor.endpoint)) { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw RPCStatus(.deadlineExceeded, "the front door never saw \(what)")
    }
}
