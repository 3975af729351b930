import AtRestMessaging
import AtRestTesting
import AtRestWire
import Foundation
import Testing

/// Issue 13 (low items) through the real five processes: strings with NUL
/// bytes are refused before they can alias another name, and one damaged
/// object does not hide the rest of its container from `Blob/List`.
@Suite(.serialized) struct BlobHardeningTests {
    /// A length-delimited protobuf field, as any client would encode it.
    private func field(_ number: UInt8, _ bytes: [UInt8]) -> [UInt8] {
        [number << 3 | 2, UInt8(bytes.count)] + bytes
    }

    @Test func nulBytesAndDamagedObjects() async throws {
        let cluster = try LocalCluster.blobCluster()
        defer { cluster.stop() }
        let (alice, _) = try await cluster.bootstrapUsers()
        let c = cluster.client
        _ = try await c.call("atrest.v1.Account/Create", request: AccountCreateRequest(accountID: "acct-h"), as: AccountInfo.self, metadata: alice)
        let a = alice.merging(["account": "acct-h"]) { $1 }
        let options = CallOptions(metadata: a)
        _ = try await c.call(BlobMethod.createContainer.name, request: ContainerRequest(container: "cont"), as: EmptyMessage.self, metadata: a)
        _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "cont", name: "a.txt"), as: BlobProperties.self,
                             payload: [[1, 2, 3]], metadata: a)

        // "a.txt\0ignored" used to be read as "a.txt" and overwrite it.
        await expectCode(.invalidArgument, contains: "NUL") {
            _ = try await c.call(BlobMethod.put.name, body: field(1, Array("cont".utf8)) + field(2, Array("a.txt\0ignored".utf8)),
                                 payload: [[9, 9]], options: options)
        }
        let kept = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "cont", name: "a.txt"), as: BlobGetResponse.self, metadata: a)
        #expect(kept.payload.flatMap { $0 } == [1, 2, 3])
        await expectCode(.invalidArgument, contains: "NUL") {
            _ = try await c.call(BlobMethod.createContainer.name, body: field(1, Array("cont\0x".utf8)), options: options)
        }
        await expectCode(.invalidArgument, contains: "NUL") {
            let entry = field(1, Array("k\0zz".utf8)) + field(2, Array("v".utf8))
            _ = try await c.call(BlobMethod.put.name, body: field(1, Array("cont".utf8)) + field(2, Array("m".utf8)) + field(4, entry),
                                 payload: [[1]], options: options)
        }
        await expectCode(.invalidArgument, contains: "UTF-8") {
            _ = try await c.call(BlobMethod.put.name, body: field(1, Array("cont".utf8)) + field(2, [0x61, 0xFF]), payload: [[1]], options: options)
        }
        let names = try await c.call(BlobMethod.list.name, request: BlobListRequest(container: "cont"), as: BlobListResponse.self, metadata: a)
        #expect(names.message.blobs.map(\.name) == ["a.txt"])

        // Damage one object's sealed header on disk; the others still list.
        _ = try await c.call(BlobMethod.createContainer.name, request: ContainerRequest(container: "tamper"), as: EmptyMessage.self, metadata: a)
        for name in ["good1", "good2"] {
            _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "tamper", name: name), as: BlobProperties.self,
                                 payload: [Array(repeating: 5, count: 3000)], metadata: a)
        }
        func objectFiles() -> Set<String> {
            Set(cluster.allFiles().filter { $0.contains("/objects/") && $0.split(separator: "/").last!.hasPrefix("o-") })
        }
        let before = objectFiles()
        _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "tamper", name: "victim"), as: BlobProperties.self,
                             payload: [Array(repeating: 6, count: 3000)], metadata: a)
        let victim = try #require(objectFiles().subtracting(before).first)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: victim)))
        bytes[40] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: victim))

        let listing = try await c.call(BlobMethod.list.name, request: BlobListRequest(container: "tamper"), as: BlobListResponse.self, metadata: a).message
        #expect(listing.blobs.map(\.name) == ["good1", "good2"])
        #expect(listing.damagedCount == 1)
        #expect(listing.damagedIDs.map { "o-\($0)" } == [String(victim.split(separator: "/").last!)])
        await expectCode(.dataLoss) {
            _ = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "tamper", name: "victim"), as: BlobGetResponse.self, metadata: a)
        }

        // The CLI lists the good ones and warns about the damaged one.
        let env = ["ATREST_CONFIG": "\(cluster.root)/cli/config.json"]
        try "alice-secret-123456".write(toFile: "\(cluster.root)/alice.secret", atomically: true, encoding: .utf8)
        let endpoint = ["--endpoint", cluster.frontDoor.endpoint]
        let login = try await runTool("atrest", ["login", "--tenant", "t1", "--user", "alice", "--secret-file", "\(cluster.root)/alice.secret"] + endpoint,
                                      environment: env)
        #expect(login.status == 0, "\(login.err)")
        let ls = try await runTool("atrest", ["blob", "ls", "tamper", "--account", "acct-h"] + endpoint, environment: env)
        #expect(ls.status == 0, "\(ls.err)")
        #expect(ls.out.contains("good1") && ls.out.contains("good2"))
        #expect(ls.err.contains("warning: 1 damaged object"), "\(ls.err)")
    }
}
