import AtRestClient
import AtRestKeyVault
import AtRestMessaging
import AtRestTesting
import AtRestWire
import Foundation
import Testing

/// Accounts and tenants through the real five processes: moving an account
/// takes effect at once, and no accepted key switch leaves an account unreadable.
@Suite(.serialized) struct AccountTenancyTests {
    @Test func movingAnAccountTakesEffectAtOnceAndShowsTheNewTenant() async throws {
        let cluster = try LocalCluster(.init(rootTag: "move", workers: 1))
        defer { cluster.stop() }
        let (alice, _) = try await cluster.bootstrapUsers()
        let admin = try await cluster.adminIdentity()
        _ = try await admin.createTenant("t2")
        let c = cluster.client
        let system = try await cluster.login("admin", try cluster.secret("admin"))
        // dave, of t2, is given the owner role of the three accounts in t2 (what the
        // move's notice asks for); until a move, that role of another tenant reaches nothing.
        _ = try await admin.createUser(tenant: "t2", name: "dave", secret: "dave-secret-123456")
        for account in ["on-customer", "on-managed", "on-infra"] {
            _ = try await admin.grantRole(IdentityRoleRequest(tenant: "t2", name: "dave", role: "accountOwner:\(account)"))
        }
        let dave = try await cluster.login(tenant: "t2", "dave", "dave-secret-123456")

        // Two accounts of t1: one on a customer key of t1, one on its managed key.
        for account in ["on-customer", "on-managed"] {
            _ = try await c.call("atrest.v1.Account/Create", request: AccountCreateRequest(accountID: account), as: AccountInfo.self, metadata: alice)
            let m = alice.merging(["account": account]) { $1 }
            _ = try await c.call(BlobMethod.createContainer.name, request: ContainerRequest(container: "box"), as: EmptyMessage.self, metadata: m)
            _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "box", name: "b"), as: BlobProperties.self, payload: [[1, 2, 3]], metadata: m)
        }
        _ = try await c.call("atrest.v1.KeyVault/CreateKey", request: CreateKeyRequest(provider: "customer", spec: KeySpec(keyID: "ck")), as: KeyResponse.self, metadata: alice)
        _ = try await c.call("atrest.v1.KeyVault/GrantAccess", request: AccessRequest(AccessGrant(key: KeyRef(provider: "customer", keyID: "ck"), principalID: "", operations: [.wrap, .unwrap], accountID: "on-customer")),
                             as: AccessResponse.self, metadata: alice)
        _ = try await c.call("atrest.v1.Account/SetEncryption", request: AccountSetEncryptionRequest(accountID: "on-customer", keySource: "customer", keyID: "ck"),
                             as: AccountEncryption.self, metadata: alice)
        let onCustomer = alice.merging(["account": "on-customer"]) { $1 }
        let onManaged = alice.merging(["account": "on-managed"]) { $1 }
        func get(_ m: [String: String]) async throws -> [UInt8] {
            try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "box", name: "b"), as: BlobGetResponse.self, metadata: m).payload.flatMap { $0 }
        }
        #expect(try await get(onCustomer) == [1, 2, 3])  // the worker now holds the account key
        let daveOnCustomer = dave.merging(["account": "on-customer"]) { $1 }
        let daveOnManaged = dave.merging(["account": "on-managed"]) { $1 }
        let daveOnInfra = dave.merging(["account": "on-infra"]) { $1 }
        await expectCode(.permissionDenied, contains: "has no access to account 'on-managed'") { _ = try await get(daveOnManaged) }

        // Only the system tenant's identity administrator moves accounts.
        await expectCode(.permissionDenied) {
            _ = try await c.call("atrest.v1.Account/Move", request: AccountMoveRequest(accountID: "on-customer", tenant: "t2"), as: AccountMoveResponse.self, metadata: alice)
        }
        let moved = try await c.call("atrest.v1.Account/Move", request: AccountMoveRequest(accountID: "on-customer", tenant: "t2"),
                                     as: AccountMoveResponse.self, metadata: system).message
        #expect(moved.previousTenant == "t1" && moved.account.tenant == "t2" && moved.notice.contains("re-grant"))
        // t1's principals reach the account no more, at once (not when their tokens expire).
        await expectCode(.permissionDenied, contains: "has no access to account 'on-customer'") { _ = try await get(onCustomer) }
        await expectCode(.permissionDenied) {
            _ = try await c.call("atrest.v1.Account/Get", request: AccountRequest(accountID: "on-customer"), as: AccountInfo.self, metadata: alice)
        }
        // t2's owner gets the repair error: t1's customer-key grant stopped applying at
        // once, though the worker had the key cached.
        await expectCode(.failedPrecondition, contains: "now belongs to tenant 't2'") { _ = try await get(daveOnCustomer) }
        let shown = try await c.call("atrest.v1.Account/Get", request: AccountRequest(accountID: "on-customer"), as: AccountInfo.self, metadata: dave).message
        #expect(shown.tenant == "t2")

        // An account on its managed key keeps working for its new tenant: its key moved with it.
        #expect(try await get(onManaged) == [1, 2, 3])
        let before = try await c.call("atrest.v1.Account/GetEncryption", request: AccountRequest(accountID: "on-managed"), as: AccountEncryption.self, metadata: alice).message
        _ = try await c.call("atrest.v1.Account/Move", request: AccountMoveRequest(accountID: "on-managed", tenant: "t2"), as: AccountMoveResponse.self, metadata: system)
        let after = try await c.call("atrest.v1.Account/GetEncryption", request: AccountRequest(accountID: "on-managed"), as: AccountEncryption.self, metadata: dave).message
        #expect(after.keySource == "managed" && after.keyID != before.keyID)
        #expect(try await get(daveOnManaged) == [1, 2, 3])
        await expectCode(.permissionDenied) { _ = try await get(onManaged) }
        // The identity keeps no grant on the old managed key; the new one is t2's.
        let keyAdmin = try await cluster.systemKeyAdministrator()
        func grants(_ keyID: String) async throws -> [AccessGrant] {
            try await c.call("atrest.v1.KeyVault/ListGrants", request: KeyRequest(KeyRef(provider: "managed", keyID: keyID)), as: AccessResponse.self, metadata: keyAdmin).message.grants
        }
        #expect(try await grants(before.keyID).isEmpty)
        #expect(try await grants(after.keyID).count == 1)

        // An account with infrastructure encryption: its second key chain moves with it too.
        _ = try await c.call("atrest.v1.Account/Create", request: AccountCreateRequest(accountID: "on-infra", infrastructureEncryption: true),
                             as: AccountInfo.self, metadata: alice)
        let onInfra = alice.merging(["account": "on-infra"]) { $1 }
        _ = try await c.call(BlobMethod.createContainer.name, request: ContainerRequest(container: "box"), as: EmptyMessage.self, metadata: onInfra)
        _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "box", name: "b"), as: BlobProperties.self, payload: [[4, 5, 6]], metadata: onInfra)
        _ = try await c.call("atrest.v1.Account/Move", request: AccountMoveRequest(accountID: "on-infra", tenant: "t2"), as: AccountMoveResponse.self, metadata: system)
        #expect(try await get(daveOnInfra) == [4, 5, 6])
        _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "box", name: "c"), as: BlobProperties.self, payload: [[7]], metadata: daveOnInfra)
        await expectCode(.permissionDenied) { _ = try await get(onInfra) }
        await expectCode(.notFound) {
            _ = try await c.call("atrest.v1.Account/Move", request: AccountMoveRequest(accountID: "nope", tenant: "t2"), as: AccountMoveResponse.self, metadata: system)
        }
    }

    @Test func aKeyThatWrapsButWillNotUnwrapIsRefusedAndTheAccountStaysReadable() async throws {
        let cluster = try LocalCluster(.init(rootTag: "switch", workers: 1, extraArguments: [
            .vault: ["--provider", "managed", "--provider", "customer", "--provider", "revoked-test"],
        ]))
        defer { cluster.stop() }
        let (alice, _) = try await cluster.bootstrapUsers()
        let c = cluster.client
        // A local directory keeps one copy: that is what an account gets and sees, and more is refused by name.
        let created = try await c.call("atrest.v1.Account/Create", request: AccountCreateRequest(accountID: "acct-r"), as: AccountInfo.self, metadata: alice).message
        #expect(created.redundancy == 1 && created.pool == "")
        await expectCode(.invalidArgument, contains: "redundancy 2 is not offered by this deployment; it offers: 1 (local directory)") {
            _ = try await c.call("atrest.v1.Account/Create", request: AccountCreateRequest(accountID: "acct-r2", redundancy: 2), as: AccountInfo.self, metadata: alice)
        }
        let m = alice.merging(["account": "acct-r"]) { $1 }
        _ = try await c.call(BlobMethod.createContainer.name, request: ContainerRequest(container: "box"), as: EmptyMessage.self, metadata: m)
        _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "box", name: "b"), as: BlobProperties.self, payload: [[4, 5, 6]], metadata: m)
        let revoked = KeyRef(provider: "revoked-test", keyID: "rk")
        _ = try await c.call("atrest.v1.KeyVault/CreateKey", request: CreateKeyRequest(provider: "revoked-test", spec: KeySpec(keyID: "rk")), as: KeyResponse.self, metadata: alice)
        _ = try await c.call("atrest.v1.KeyVault/GrantAccess", request: AccessRequest(AccessGrant(key: revoked, principalID: "", operations: [.wrap, .unwrap], accountID: "acct-r")),
                             as: AccessResponse.self, metadata: alice)
        let before = try await c.call("atrest.v1.Account/GetEncryption", request: AccountRequest(accountID: "acct-r"), as: AccountEncryption.self, metadata: alice).message
        // The key wraps and answers KeyStatus as usable, but refuses every unwrap: the switch is refused ...
        await expectCode(.failedPrecondition, contains: "does not unwrap") {
            _ = try await c.call("atrest.v1.Account/SetEncryption", request: AccountSetEncryptionRequest(accountID: "acct-r", keySource: "customer", provider: "revoked-test", keyID: "rk"),
                                 as: AccountEncryption.self, metadata: alice)
        }
        // ... and the account is exactly where it was, readable, and can still switch.
        let after = try await c.call("atrest.v1.Account/GetEncryption", request: AccountRequest(accountID: "acct-r"), as: AccountEncryption.self, metadata: alice).message
        #expect(after == before)
        let got = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "box", name: "b"), as: BlobGetResponse.self, metadata: m)
        #expect(got.payload.flatMap { $0 } == [4, 5, 6])
        _ = try await c.call("atrest.v1.KeyVault/CreateKey", request: CreateKeyRequest(provider: "customer", spec: KeySpec(keyID: "good")), as: KeyResponse.self, metadata: alice)
        _ = try await c.call("atrest.v1.KeyVault/GrantAccess", request: AccessRequest(AccessGrant(key: KeyRef(provider: "customer", keyID: "good"), principalID: "", operations: [.wrap, .unwrap], accountID: "acct-r")),
                             as: AccessResponse.self, metadata: alice)
        _ = try await c.call("atrest.v1.Account/SetEncryption", request: AccountSetEncryptionRequest(accountID: "acct-r", keySource: "customer", keyID: "good"), as: AccountEncryption.self, metadata: alice)
        _ = try await c.call("atrest.v1.Account/SetEncryption", request: AccountSetEncryptionRequest(accountID: "acct-r", keySource: "managed"), as: AccountEncryption.self, metadata: alice)
        let back = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "box", name: "b"), as: BlobGetResponse.self, metadata: m)
        #expect(back.payload.flatMap { $0 } == [4, 5, 6])
    }

    /// Tenant isolation: an owner and a reader role that another tenant's
    /// administrator granted for this account's id reach nothing, on the data
    /// plane (blobs, queues) and on every account method; the account's own
    /// tenant is unaffected.
    @Test func rolesGrantedInAnotherTenantReachNothing() async throws {
        let cluster = try LocalCluster(.init(rootTag: "tenant-iso", workers: 1))
        defer { cluster.stop() }
        let (alice, _) = try await cluster.bootstrapUsers()
        let admin = try await cluster.adminIdentity()
        let c = cluster.client
        _ = try await admin.createTenant("t2")
        _ = try await admin.createUser(tenant: "t2", name: "mallory", secret: "mallory-secret-1234")
        for role in ["accountOwner:iso-a", "accountReader:iso-a", "keyAdministrator"] {
            _ = try await admin.grantRole(IdentityRoleRequest(tenant: "t2", name: "mallory", role: role))
        }
        // The roles were granted before iso-a existed (t2's administrator guessed its name):
        // once it exists in t1, the identity service refuses such a grant, but a token
        // issued before can still carry one.
        _ = try await c.call(AccountMethod.create.name, request: AccountCreateRequest(accountID: "iso-a"), as: AccountInfo.self, metadata: alice)
        let own = alice.merging(["account": "iso-a"]) { $1 }
        _ = try await c.call(BlobMethod.createContainer.name, request: ContainerRequest(container: "box"), as: EmptyMessage.self, metadata: own)
        _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "box", name: "b"), as: BlobProperties.self, payload: [[1, 2, 3]], metadata: own)
        await expectCode(.notFound, contains: "no account 'iso-a' in tenant 't2'") {
            _ = try await admin.grantRole(IdentityRoleRequest(tenant: "t2", name: "mallory", role: "accountOwner:iso-a"))
        }
        let mallory = try await cluster.login(tenant: "t2", "mallory", "mallory-secret-1234")
        let theirs = mallory.merging(["account": "iso-a"]) { $1 }

        // Data plane: read, write, delete, a new resource type: all refused as if the account did not exist.
        await expectCode(.permissionDenied, contains: "has no access to account 'iso-a' (or it does not exist)") {
            _ = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "box", name: "b"), as: BlobGetResponse.self, metadata: theirs)
        }
        await expectCode(.permissionDenied, contains: "has no access to account 'iso-a'") {
            _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "box", name: "b"), as: BlobProperties.self, payload: [[6, 6, 6]], metadata: theirs)
        }
        await expectCode(.permissionDenied, contains: "has no access to account 'iso-a'") {
            _ = try await c.call(BlobMethod.delete.name, request: BlobRequest(container: "box", name: "b"), as: EmptyMessage.self, metadata: theirs)
        }
        await expectCode(.permissionDenied, contains: "has no access to account 'iso-a'") {
            _ = try await c.call(QueueMethod.createQueue.name, request: QueueRequest(queue: "jobs"), as: EmptyMessage.self, metadata: theirs)
        }
        // Account methods: readers' and owners' alike; the list does not show it.
        await expectCode(.permissionDenied, contains: "has no access to account 'iso-a'") {
            _ = try await c.call(AccountMethod.get.name, request: AccountRequest(accountID: "iso-a"), as: AccountInfo.self, metadata: mallory)
        }
        await expectCode(.permissionDenied) {
            _ = try await c.call(AccountMethod.getEncryption.name, request: AccountRequest(accountID: "iso-a"), as: AccountEncryption.self, metadata: mallory)
        }
        let listed = try await c.call(AccountMethod.list.name, request: AccountListRequest(), as: AccountListResponse.self, metadata: mallory).message
        #expect(!listed.accounts.contains { $0.accountID == "iso-a" })
        await expectCode(.notFound, contains: "account 'iso-a' does not exist") {
            _ = try await c.call(AccountMethod.setEncryption.name, request: AccountSetEncryptionRequest(accountID: "iso-a", keySource: "managed"),
                                 as: AccountEncryption.self, metadata: mallory)
        }
        await expectCode(.notFound, contains: "account 'iso-a' does not exist") {
            _ = try await c.call(AccountMethod.rotateKey.name, request: AccountRequest(accountID: "iso-a"), as: AccountEncryption.self, metadata: mallory)
        }
        await expectCode(.notFound, contains: "account 'iso-a' does not exist") {
            _ = try await c.call(AccountMethod.createScope.name, request: AccountScopeCreateRequest(accountID: "iso-a", scope: "evil", keySource: "managed"),
                                 as: EncryptionScope.self, metadata: mallory)
        }
        await expectCode(.notFound, contains: "account 'iso-a' does not exist") {
            _ = try await c.call(AccountMethod.delete.name, request: AccountDeleteRequest(accountID: "iso-a", force: true), as: AccountInfo.self, metadata: mallory)
        }

        // The owner's tenant sees its account unchanged: same bytes, one key version, no scope, active.
        let back = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "box", name: "b"), as: BlobGetResponse.self, metadata: own)
        #expect(back.payload.flatMap { $0 } == [1, 2, 3])
        let info = try await c.call(AccountMethod.get.name, request: AccountRequest(accountID: "iso-a"), as: AccountInfo.self, metadata: alice).message
        #expect((info.accountKeyVersions.max() ?? 1) == 1, "\(info)")
        #expect(info.state.isEmpty || info.state == AccountState.active)
        let scopes = try await c.call(AccountMethod.listScopes.name, request: AccountRequest(accountID: "iso-a"), as: AccountScopeListResponse.self, metadata: alice).message
        #expect(scopes.scopes.isEmpty)
    }
}
