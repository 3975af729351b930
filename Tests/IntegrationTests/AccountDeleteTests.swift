import AtRestClient
import AtRestKeyVault
import AtRestMessaging
import AtRestTesting
import AtRestWire
import Foundation
import Testing

/// `Account/Delete`, `Recover` and the purge through the real processes
/// (identity, vault, front door, a worker; CURVE on, so the front door's own
/// calls to the workers go through its CURVE endpoint like a client's).
@Suite(.serialized) struct AccountDeleteTests {
    /// One cluster: front door with a grace of `grace` seconds.
    static func cluster(_ tag: String, grace: Int) throws -> LocalCluster {
        var options = LocalCluster.Options(rootTag: tag, workers: 1, extraArguments: [.frontDoor: ["--account-delete-grace", "\(grace)"]])
        options.curve = true
        return try LocalCluster(options)
    }

    @Test func deleteIsRefusedWhileDataIsHeldThenForcedRefusesDataCallsAndRecoverRestoresThem() async throws {
        let cluster = try Self.cluster("acct-delete", grace: 3600)
        defer { cluster.stop() }
        let (alice, _) = try await cluster.bootstrapUsers()
        let c = cluster.client
        _ = try await c.call(AccountMethod.create.name, request: AccountCreateRequest(accountID: "del-a"), as: AccountInfo.self, metadata: alice)
        let m = alice.merging(["account": "del-a"]) { $1 }
        _ = try await c.call(BlobMethod.createContainer.name, request: ContainerRequest(container: "box"), as: EmptyMessage.self, metadata: m)
        _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "box", name: "b"), as: BlobProperties.self, payload: [[7, 8, 9]], metadata: m)
        _ = try await c.call(QueueMethod.createQueue.name, request: QueueRequest(queue: "jobs"), as: EmptyMessage.self, metadata: m)

        // Holding a container and a queue: refused, naming both.
        await expectCode(.failedPrecondition, contains: "holds data (1 container, 1 queue)", reason: "accountNotEmpty") {
            _ = try await c.call(AccountMethod.delete.name, request: AccountDeleteRequest(accountID: "del-a"), as: AccountInfo.self, metadata: m)
        }
        #expect(try await get(c, m) == [7, 8, 9])

        // Forced: deleted, with a purge time an hour on; every data call is refused and says how to recover.
        let deleted = try await c.call(AccountMethod.delete.name, request: AccountDeleteRequest(accountID: "del-a", force: true), as: AccountInfo.self, metadata: m).message
        #expect(deleted.state == AccountState.deleted)
        #expect(deleted.purgeAfterUnix - deleted.deletedAtUnix == 3600)
        await expectCode(.failedPrecondition, contains: "account 'del-a' is deleted; it is purged at ", reason: "accountDeleted") { _ = try await get(c, m) }
        await expectCode(.failedPrecondition, contains: "`atrest account recover del-a` restores it") {
            _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "box", name: "c"), as: BlobProperties.self, payload: [[1]], metadata: m)
        }
        await expectCode(.failedPrecondition, contains: "is deleted") {
            _ = try await c.call(AccountMethod.delete.name, request: AccountDeleteRequest(accountID: "del-a", force: true), as: AccountInfo.self, metadata: m)
        }
        let shown = try await c.call(AccountMethod.get.name, request: AccountRequest(accountID: "del-a"), as: AccountInfo.self, metadata: alice).message
        #expect(shown.state == AccountState.deleted && shown.purgeAfterUnix == deleted.purgeAfterUnix)

        // Recovered: readable again, as it was.
        let recovered = try await c.call(AccountMethod.recover.name, request: AccountRequest(accountID: "del-a"), as: AccountInfo.self, metadata: m).message
        #expect(recovered.state == AccountState.active && recovered.purgeAfterUnix == 0)
        #expect(try await get(c, m) == [7, 8, 9])
        await expectCode(.failedPrecondition, contains: "is not deleted") {
            _ = try await c.call(AccountMethod.recover.name, request: AccountRequest(accountID: "del-a"), as: AccountInfo.self, metadata: m)
        }
        // An empty account is deleted without force.
        _ = try await c.call(AccountMethod.create.name, request: AccountCreateRequest(accountID: "del-empty"), as: AccountInfo.self, metadata: alice)
        let empty = try await c.call(AccountMethod.delete.name, request: AccountDeleteRequest(accountID: "del-empty"), as: AccountInfo.self, metadata: alice).message
        #expect(empty.state == AccountState.deleted)
    }

    @Test func onlyAnOwnerOfTheAccountsTenantDeletesAndAMissingAccountIsNotFound() async throws {
        let cluster = try Self.cluster("acct-delete-who", grace: 3600)
        defer { cluster.stop() }
        let (alice, _) = try await cluster.bootstrapUsers()
        let admin = try await cluster.adminIdentity()
        let c = cluster.client
        _ = try await admin.grantRole(IdentityRoleRequest(tenant: "t1", name: "bob", role: "accountReader:del-w"))
        let reader = try await cluster.login(tenant: "t1", "bob", "bob-secret-123456")
        _ = try await admin.createTenant("t2")
        _ = try await admin.createUser(tenant: "t2", name: "carol", secret: "carol-secret-123456")
        _ = try await admin.grantRole(IdentityRoleRequest(tenant: "t2", name: "carol", role: "accountOwner:del-w"))
        let stranger = try await cluster.login(tenant: "t2", "carol", "carol-secret-123456")
        // (carol's role was granted before del-w existed: once it exists in t1, the identity
        // service refuses to grant a role for it in t2.)
        _ = try await c.call(AccountMethod.create.name, request: AccountCreateRequest(accountID: "del-w"), as: AccountInfo.self, metadata: alice)
        await expectCode(.notFound, contains: "no account 'del-w' in tenant 't2'") {
            _ = try await admin.grantRole(IdentityRoleRequest(tenant: "t2", name: "carol", role: "accountReader:del-w"))
        }

        await expectCode(.permissionDenied, contains: "not an owner") {
            _ = try await c.call(AccountMethod.delete.name, request: AccountDeleteRequest(accountID: "del-w", force: true), as: AccountInfo.self, metadata: reader)
        }
        // Another tenant's owner role of the same name reaches nothing: as if the account did not exist.
        await expectCode(.notFound, contains: "account 'del-w' does not exist") {
            _ = try await c.call(AccountMethod.delete.name, request: AccountDeleteRequest(accountID: "del-w", force: true), as: AccountInfo.self, metadata: stranger)
        }
        await expectCode(.notFound, contains: "account 'nope' does not exist") {
            _ = try await c.call(AccountMethod.delete.name, request: AccountDeleteRequest(accountID: "nope"), as: AccountInfo.self, metadata: alice)
        }
        // A client cannot call the workers' AccountData methods itself, whatever its roles.
        await expectCode(.permissionDenied, contains: "for AtRest services only") {
            _ = try await c.call(AccountDataMethod.erase.name, request: EmptyMessage(), as: AccountUsage.self, metadata: alice.merging(["account": "del-w"]) { $1 })
        }
        let still = try await c.call(AccountMethod.get.name, request: AccountRequest(accountID: "del-w"), as: AccountInfo.self, metadata: alice).message
        #expect(still.state.isEmpty || still.state == AccountState.active)
    }

    @Test func afterTheGraceTheAccountKeyIsDestroyedAndTheIDCanBeCreatedAgain() async throws {
        let cluster = try Self.cluster("acct-purge", grace: 1)
        defer { cluster.stop() }
        let (alice, _) = try await cluster.bootstrapUsers()
        let c = cluster.client
        // Created with infrastructure encryption: a second managed key of its own, which the purge deletes too.
        let keyAdmin = try await cluster.systemKeyAdministrator()
        func managedKeys() async throws -> Set<String> {
            Set(try await c.call(KeyVaultMethod.listKeys.name, request: ListKeysRequest(provider: "managed"), as: ListKeysResponse.self,
                                 metadata: keyAdmin).message.keys.map(\.keyID))
        }
        let keysBefore = try await managedKeys()
        let created = try await c.call(AccountMethod.create.name, request: AccountCreateRequest(accountID: "del-p", infrastructureEncryption: true),
                                       as: AccountInfo.self, metadata: alice).message
        #expect(created.infrastructureEncryption)
        let accountKeys = try await managedKeys().subtracting(keysBefore)
        #expect(accountKeys.count == 2 && accountKeys.contains(created.encryption.keyID), "the account's managed key and its infrastructure key: \(accountKeys)")
        let m = alice.merging(["account": "del-p"]) { $1 }
        _ = try await c.call(BlobMethod.createContainer.name, request: ContainerRequest(container: "box"), as: EmptyMessage.self, metadata: m)
        _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "box", name: "b"), as: BlobProperties.self, payload: [Array("purge-me-plaintext".utf8)], metadata: m)
        #expect(try await get(c, m) == Array("purge-me-plaintext".utf8))
        let objectsBefore = Self.objectFiles(cluster)
        #expect(!objectsBefore.isEmpty)

        _ = try await c.call(AccountMethod.delete.name, request: AccountDeleteRequest(accountID: "del-p", force: true), as: AccountInfo.self, metadata: m)
        // The sweeper purges it after the grace (an asynchronous effect: polled).
        var purged = created
        try await eventually(within: .seconds(30)) {
            purged = try await c.call(AccountMethod.get.name, request: AccountRequest(accountID: "del-p"), as: AccountInfo.self, metadata: alice).message
            guard purged.state == AccountState.purged else { throw RPCStatus(.unavailable, "state \(purged.state)") }
        }
        await expectCode(.failedPrecondition, contains: "purged", reason: "accountPurged") { _ = try await get(c, m) }
        await expectCode(.failedPrecondition, contains: "cannot be recovered") {
            _ = try await c.call(AccountMethod.recover.name, request: AccountRequest(accountID: "del-p"), as: AccountInfo.self, metadata: m)
        }

        // The registry record (read offline with the front door's root key, as atrest-recover does) keeps no
        // wrapped key, and no tool with every root key gets the blob back.
        let recovered = try await ClientTools.run(ServiceProcess.binDirectory.path + "/atrest-recover",
                                                  ["--vault-dir", "\(cluster.root)/vault", "--frontdoor-dir", "\(cluster.root)/frontdoor",
                                                   "--data-dir", cluster.objectsDirectory, "--verify", "--account", "del-p"],
                                                  in: cluster.root, timeout: .seconds(120))
        #expect(recovered.lines.contains("purged account del-p: its account key was destroyed; nothing to recover"), "\(recovered.transcript)")
        #expect(!recovered.lines.contains { $0.hasPrefix("good ") || $0.hasPrefix("account del-p key") }, "\(recovered.transcript)")
        // Both managed keys (the account's and its infrastructure key) are deleted in the vault, and audited as deleted by the front door.
        for keyID in accountKeys {
            try await eventually(within: .seconds(30)) {
                let key = try await c.call(KeyVaultMethod.getKey.name, request: KeyRequest(KeyRef(provider: "managed", keyID: keyID)),
                                           as: KeyResponse.self, metadata: keyAdmin).message.key
                guard key.state == .deleted else { throw RPCStatus(.unavailable, "key \(keyID) state \(key.state)") }
            }
        }
        let audit = try await c.call(KeyVaultMethod.getAuditLog.name, request: GetAuditLogRequest(), as: GetAuditLogResponse.self, metadata: keyAdmin).message
        for keyID in accountKeys {
            #expect(audit.entries.contains { $0.operation == KeyVaultMethod.deleteKey.verb && $0.key.keyID == keyID && $0.result == "ok" }, "\(keyID)")
        }
        // The objects were erased too (best effort; undecryptable either way).
        #expect(Self.objectFiles(cluster).filter { !$0.hasSuffix("container") }.count < objectsBefore.count)

        // The id can be created again: a new account key, an empty account.
        let again = try await c.call(AccountMethod.create.name, request: AccountCreateRequest(accountID: "del-p"), as: AccountInfo.self, metadata: alice).message
        #expect(again.state.isEmpty || again.state == AccountState.active)
        #expect(again.encryption.keyID != created.encryption.keyID)
        let containers = try await c.call(BlobMethod.listContainers.name, request: EmptyMessage(), as: ContainerListResponse.self, metadata: m).message
        #expect(containers.containers.isEmpty)
    }

    @Test func theCLIDeletesShowsTheStateAndRecovers() async throws {
        let cluster = try Self.cluster("acct-delete-cli", grace: 3600)
        defer { cluster.stop() }
        _ = try await cluster.bootstrapUsers()
        let curve = try #require(cluster.curve)
        let root = cluster.root
        try "alice-secret-123456".write(toFile: "\(root)/alice.secret", atomically: true, encoding: .utf8)
        func atrest(_ args: [String]) async throws -> (status: Int32, out: String, err: String) {
            try await runTool("atrest", args, environment: ["ATREST_CONFIG": "\(root)/cli/config.json"])
        }
        let login = try await atrest(["login", "--tenant", "t1", "--user", "alice", "--secret-file", "\(root)/alice.secret",
                                      "--endpoint", cluster.frontDoor.endpoint, "--curve-server-key=\(curve.frontDoorKey)",
                                      "--curve-key-file", "\(curve.directory)/client.key"])
        try #require(login.status == 0, "\(login)")
        #expect(try await atrest(["account", "create", "del-cli"]).status == 0)
        #expect(try await atrest(["container", "create", "box", "--account", "del-cli"]).status == 0)

        let refused = try await atrest(["account", "delete", "del-cli"])
        #expect(refused.status == 6 && refused.err.contains("holds data (1 container)") && refused.err.contains("--force"), "\(refused)")
        let deleted = try await atrest(["account", "delete", "del-cli", "--force", "--json"])
        let record = CLIUsers.record(deleted.out)
        #expect(deleted.status == 0 && record["state"] as? String == "deleted", "\(deleted)")
        #expect((record["purgeAfter"] as? String)?.hasSuffix("Z") == true, "\(deleted)")
        let blocked = try await atrest(["container", "list", "--account", "del-cli"])
        #expect(blocked.status == 6 && blocked.err.contains("is deleted; it is purged at ") && blocked.err.contains("atrest account recover del-cli"), "\(blocked)")
        let listed = try await atrest(["account", "list"])
        #expect(listed.out.contains("state") && listed.out.contains("deleted"), "\(listed)")
        let recovered = try await atrest(["account", "recover", "del-cli", "--json"])
        #expect(recovered.status == 0 && CLIUsers.record(recovered.out)["state"] as? String == "active", "\(recovered)")
        let containers = try await atrest(["container", "list", "--account", "del-cli"])
        #expect(containers.status == 0 && containers.out.contains("box"), "\(containers)")
    }

    func get(_ c: RPCClient, _ m: [String: String]) async throws -> [UInt8] {
        try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "box", name: "b"), as: BlobGetResponse.self, metadata: m).payload.flatMap { $0 }
    }

    static func objectFiles(_ cluster: LocalCluster) -> [String] {
        cluster.allFiles().filter { $0.hasPrefix(cluster.objectsDirectory + "/") }
    }

}
