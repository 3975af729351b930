import AtRestIdentity
import AtRestTesting
import AtRestWire

/// The blob tests' cluster: all five processes on 127.0.0.1, two workers
/// `w0` and `w1` sharing the object store directory.
extension LocalCluster {
    static func blobCluster() throws -> LocalCluster {
        try LocalCluster(blobClusterOptions)
    }

    static var blobClusterOptions: Options { .init(rootTag: "blob", workers: 2) }

    /// Users alice and bob in tenant t1 (alice also a key administrator). The
    /// front door needs no extra role: as a service it may create `managed`
    /// keys and grant access on them.
    func bootstrapUsers() async throws -> (alice: [String: String], bob: [String: String]) {
        let admin = try await adminIdentity()
        _ = try await admin.createTenant("t1")
        for name in ["alice", "bob"] { _ = try await admin.createUser(tenant: "t1", name: name, secret: "\(name)-secret-123456") }
        _ = try await admin.grantRole(IdentityRoleRequest(tenant: "t1", name: "alice", role: "keyAdministrator"))
        return (try await login(tenant: "t1", "alice", "alice-secret-123456"),
                try await login(tenant: "t1", "bob", "bob-secret-123456"))
    }

    /// The bootstrap admin as the system administrator of the vault (system
    /// tenant, key administrator): the one caller that crosses tenants.
    func systemKeyAdministrator() async throws -> [String: String] {
        _ = try await adminIdentity().grantRole(IdentityRoleRequest(tenant: "system", name: "admin", role: "keyAdministrator"))
        return try await login("admin", try secret("admin"))
    }
}
