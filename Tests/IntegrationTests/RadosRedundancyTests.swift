import AtRestMessaging
import AtRestRados
import AtRestTesting
import AtRestWire
import Foundation
import Testing

/// Redundancy on Ceph: every pool the services are given is an offered
/// redundancy (its size, read from the monitors), an account picks one when
/// it is created and keeps it, its objects land in that pool only, and what
/// is not offered is refused by name.
@Suite(.serialized) struct RadosRedundancyTests {
    @Test func anAccountsRedundancyIsItsPool() async throws {
        try await ClusterOnStorage.with(.rados, .init(rootTag: "redundancy", workers: 1), extraPools: [("atrest-2", 2)]) { on in
            let cluster = on.cluster
            let (alice, _) = try await cluster.bootstrapUsers()
            let c = cluster.client
            let single = try await c.call(AccountMethod.create.name, request: AccountCreateRequest(accountID: "one-copy"),
                                          as: AccountInfo.self, metadata: alice).message
            #expect(single.redundancy == 1 && single.pool == "atrest", "the default is the first pool")
            let double = try await c.call(AccountMethod.create.name, request: AccountCreateRequest(accountID: "two-copies", redundancy: 2),
                                          as: AccountInfo.self, metadata: alice).message
            #expect(double.redundancy == 2 && double.pool == "atrest-2")
            let shown = try await c.call(AccountMethod.get.name, request: AccountRequest(accountID: "two-copies"), as: AccountInfo.self, metadata: alice).message
            #expect(shown.redundancy == 2 && shown.pool == "atrest-2", "kept in the registry")
            await expectCode(.invalidArgument, contains: "redundancy 3 is not offered by this deployment; it offers: 1 (pool atrest), 2 (pool atrest-2)") {
                _ = try await c.call(AccountMethod.create.name, request: AccountCreateRequest(accountID: "three", redundancy: 3),
                                     as: AccountInfo.self, metadata: alice)
            }

            let before = Set(try await on.pool("atrest-2").objectNames())
            let m = alice.merging(["account": "two-copies"]) { $1 }
            let data = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            _ = try await c.call(BlobMethod.createContainer.name, request: ContainerRequest(container: "box"), as: EmptyMessage.self, metadata: m)
            _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "box", name: "b"), as: BlobProperties.self, payload: [data], metadata: m)
            let got = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "box", name: "b"), as: BlobGetResponse.self, metadata: m)
            #expect(got.payload.flatMap { $0 } == data)
            let added = Set(try await on.pool("atrest-2").objectNames()).subtracting(before)
            #expect(added.contains { $0.hasSuffix("/container") } && added.contains { $0.split(separator: "/").last?.hasPrefix("o-") == true },
                    "the account's container and object are in pool atrest-2: \(added.sorted())")
            let inDefault = try await on.pool("atrest").objectNames().filter { !$0.hasPrefix("registry") }
            #expect(inDefault.isEmpty, "nothing of the account's data in the default pool: \(inDefault.prefix(5))")
        }
    }
}
