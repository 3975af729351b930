import AtRestKeyVault
import AtRestMessaging
import AtRestTesting
import AtRestWire
import Foundation
import Testing

/// Two `atrest-frontdoor` processes serving one cluster, sharing the
/// registry's backend directory and root key (docs/OPERATIONS.md "Several
/// front doors"): an account created through one is served through the
/// other at once, a second create of the name gets ALREADY_EXISTS whichever
/// front door it reaches, and a key switch made through one is seen through
/// the other within the refresh bound.
@Suite(.serialized) struct MultiFrontDoorTests {
    @Test(arguments: StorageUnderTest.allCases)
    func twoFrontDoorsServeOneRegistry(storage: StorageUnderTest) async throws {
        try await ClusterOnStorage.with(storage, .init(rootTag: "frontdoors", workers: 1)) { on in try await twoFrontDoors(on) }
    }

    func twoFrontDoors(_ on: ClusterOnStorage) async throws {
        let cluster = on.cluster
        let second = try cluster.addFrontDoor()
        try cluster.addWorker("second-w0", frontDoor: second.fields["workers"])
        let (alice, _) = try await cluster.bootstrapUsers()
        let one = cluster.client
        let two = try RPCClient(endpoint: second.endpoint)
        defer { two.close() }

        // Created through the first, blobs through the second at once: its first
        // data-plane call misses the cache, answers UNAVAILABLE (accountLookup)
        // and the client's retry is served.
        _ = try await one.call(AccountMethod.create.name, request: AccountCreateRequest(accountID: "shared-1"), as: AccountInfo.self, metadata: alice)
        let m = alice.merging(["account": "shared-1"]) { $1 }
        _ = try await two.call(BlobMethod.listContainers.name, request: EmptyMessage(), as: ContainerListResponse.self, metadata: m, idempotent: true)
        _ = try await two.call(BlobMethod.createContainer.name, request: ContainerRequest(container: "box"), as: EmptyMessage.self, metadata: m)
        _ = try await two.call(BlobMethod.put.name, request: BlobPutRequest(container: "box", name: "b"), as: BlobProperties.self,
                               payload: [[1, 2, 3]], metadata: m)
        let read = try await one.call(BlobMethod.get.name, request: BlobGetRequest(container: "box", name: "b"), as: BlobGetResponse.self, metadata: m)
        #expect(read.payload.flatMap { $0 } == [1, 2, 3])
        let shown = try await two.call(AccountMethod.get.name, request: AccountRequest(accountID: "shared-1"), as: AccountInfo.self, metadata: alice).message
        #expect(shown.accountID == "shared-1" && shown.tenant == "t1")
        let listed = try await two.call(AccountMethod.list.name, request: AccountListRequest(), as: AccountListResponse.self, metadata: alice).message
        #expect(listed.accounts.map(\.accountID) == ["shared-1"])

        // The same name again, through the other front door.
        await expectCode(.alreadyExists, contains: "already exists") {
            _ = try await two.call(AccountMethod.create.name, request: AccountCreateRequest(accountID: "shared-1"), as: AccountInfo.self, metadata: alice)
        }
        // Both at once: one wins, the other is refused.
        async let first: StatusCode? = Self.code { _ = try await one.call(AccountMethod.create.name, request: AccountCreateRequest(accountID: "race-1"), as: AccountInfo.self, metadata: alice) }
        async let other: StatusCode? = Self.code { _ = try await two.call(AccountMethod.create.name, request: AccountCreateRequest(accountID: "race-1"), as: AccountInfo.self, metadata: alice) }
        let outcomes = await [first, other]
        #expect(outcomes.filter { $0 == nil }.count == 1 && outcomes.filter { $0 != nil }.count == 1, "\(outcomes)")
        #expect(outcomes.allSatisfy { $0 == nil || $0 == .alreadyExists }, "\(outcomes)")

        // A key switch through the first is seen through the second within the refresh bound.
        _ = try await one.call("atrest.v1.KeyVault/CreateKey", request: CreateKeyRequest(provider: "customer", spec: KeySpec(keyID: "ck")), as: KeyResponse.self, metadata: alice)
        _ = try await one.call("atrest.v1.KeyVault/GrantAccess", request: AccessRequest(AccessGrant(key: KeyRef(provider: "customer", keyID: "ck"), principalID: "", operations: [.wrap, .unwrap], accountID: "shared-1")),
                               as: AccessResponse.self, metadata: alice)
        _ = try await one.call(AccountMethod.setEncryption.name, request: AccountSetEncryptionRequest(accountID: "shared-1", keySource: "customer", keyID: "ck"),
                               as: AccountEncryption.self, metadata: alice)
        let start = ContinuousClock.now
        try await eventually {
            let seen = try await two.call(AccountMethod.getEncryption.name, request: AccountRequest(accountID: "shared-1"), as: AccountEncryption.self, metadata: alice).message
            guard seen.keySource == "customer" else { throw RPCStatus(.failedPrecondition, "still \(seen.keySource)") }
        }
        #expect(ContinuousClock.now - start < .seconds(5), "the refresh bound is about 1 s plus one pass")
        let again = try await two.call(BlobMethod.get.name, request: BlobGetRequest(container: "box", name: "b"), as: BlobGetResponse.self, metadata: m, idempotent: true)
        #expect(again.payload.flatMap { $0 } == [1, 2, 3], "readable through the second front door under the customer key")

        // Every record edited on the backend: calls fail closed with DATA_LOSS, both front doors stay up.
        let records = try await on.registryRecords()
        #expect(!records.isEmpty)
        for record in records { try await on.tamper(record, fromEnd: 1) }
        for client in [one, two] {
            try await eventually {
                do {
                    _ = try await client.call(BlobMethod.get.name, request: BlobGetRequest(container: "box", name: "b"), as: BlobGetResponse.self, metadata: m, idempotent: true)
                    throw RPCStatus(.failedPrecondition, "still served")
                } catch let status as RPCStatus where status.code == .dataLoss {
                    #expect(status.message.contains("does not authenticate under the front door root key"), "\(status)")
                }
            }
            await expectCode(.dataLoss, contains: "shared-1") {
                _ = try await client.call(AccountMethod.get.name, request: AccountRequest(accountID: "shared-1"), as: AccountInfo.self, metadata: alice)
            }
        }
        _ = try await two.call(AccountMethod.create.name, request: AccountCreateRequest(accountID: "after-1"), as: AccountInfo.self, metadata: alice)
        let after = try await one.call(AccountMethod.get.name, request: AccountRequest(accountID: "after-1"), as: AccountInfo.self, metadata: alice).message
        #expect(after.accountID == "after-1")
        #expect(second.isRunning && cluster.frontDoor.isRunning)
    }

    static func code(_ body: () async throws -> Void) async -> StatusCode? {
        do { try await body(); return nil } catch let status as RPCStatus { return status.code } catch { return .unknown }
    }
}
