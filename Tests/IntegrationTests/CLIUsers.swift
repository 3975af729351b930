import AtRestTesting
import AtRestWire
import Foundation
import Testing

/// The CLI tests' three users on a blob cluster, each with its own config
/// file and logged in through `atrest login`: alice (tenant t1, the owner
/// from `bootstrapUsers`), carol (t1, `accountReader` of one account) and
/// dave (tenant t2). The caller stops `cluster`.
struct CLIUsers {
    let cluster: LocalCluster

    static func start(readerOf account: String) async throws -> CLIUsers {
        let cluster = try LocalCluster.blobCluster()
        do {
            _ = try await cluster.bootstrapUsers()
            let admin = try await cluster.adminIdentity()
            _ = try await admin.createUser(tenant: "t1", name: "carol", secret: "carol-secret-123456")
            _ = try await admin.grantRole(IdentityRoleRequest(tenant: "t1", name: "carol", role: "accountReader:\(account)"))
            _ = try await admin.createTenant("t2")
            _ = try await admin.createUser(tenant: "t2", name: "dave", secret: "dave-secret-123456")
            let users = CLIUsers(cluster: cluster)
            for (user, tenant) in [("alice", "t1"), ("carol", "t1"), ("dave", "t2")] {
                try "\(user)-secret-123456".write(toFile: "\(cluster.root)/\(user).secret", atomically: true, encoding: .utf8)
                let login = try await users.atrest(["login", "--tenant", tenant, "--user", user, "--secret-file", "\(cluster.root)/\(user).secret"], as: user)
                #expect(login.status == 0, "\(login.err)")
            }
            return users
        } catch {
            cluster.stop()
            throw error
        }
    }

    /// `atrest` as `user` against the cluster's front door.
    func atrest(_ args: [String], as user: String = "alice") async throws -> (status: Int32, out: String, err: String) {
        try await runTool("atrest", args + ["--endpoint", cluster.frontDoor.endpoint],
                          environment: ["ATREST_CONFIG": "\(cluster.root)/cli-\(user)/config.json"])
    }

    /// The object `--json` printed (empty when it is not one).
    static func record(_ text: String) -> [String: Any] { (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:] }
    /// The array of objects `--json` printed (empty when it is not one).
    static func rows(_ text: String) -> [[String: Any]] { (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [[String: Any]] ?? [] }
}
