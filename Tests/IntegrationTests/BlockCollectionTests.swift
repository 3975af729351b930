import AtRestClient
import AtRestMessaging
import AtRestTesting
import AtRestWire
import Foundation
import Testing

/// The front door's uncommitted-block collector over the real processes:
/// with a retention of 0 and a pass every second, a staged block that no
/// blob names disappears from the data directory (and can no longer be
/// committed, with the error that says so), while every block of a
/// committed blob stays and the blob reads back whole.
@Suite(.serialized) struct BlockCollectionTests {
    @Test func uncommittedBlocksGoCommittedOnesStay() async throws {
        var options = LocalCluster.blobClusterOptions
        options.rootTag = "blockgc"
        options.workers = 1
        options.extraArguments[.frontDoor] = ["--uncommitted-block-retention", "0", "--block-collection-interval", "1"]
        let cluster = try LocalCluster(options)
        defer { cluster.stop() }
        let (alice, _) = try await cluster.bootstrapUsers()
        let c = cluster.client
        _ = try await c.call(AccountMethod.create.name, request: AccountCreateRequest(accountID: "gc-acct"), as: AccountInfo.self, metadata: alice)
        let a = alice.merging(["account": "gc-acct"]) { $1 }
        _ = try await c.call(BlobMethod.createContainer.name, request: ContainerRequest(container: "box"), as: EmptyMessage.self, metadata: a)

        func stage(_ name: String, _ id: UInt8, _ data: [UInt8]) async throws {
            _ = try await c.call(BlobMethod.stageBlock.name, request: StageBlockRequest(container: "box", name: name, blockID: [id]),
                                 as: StageBlockResponse.self, payload: [data], metadata: a)
        }
        func stagedFiles() throws -> Int {
            try cluster.allFiles().filter { $0.contains("/objects/") && $0.split(separator: "/").last!.hasPrefix("s-") }.count
        }
        let parts = [Array(repeating: UInt8(1), count: 70_000), Array(repeating: UInt8(2), count: 9)]
        try await stage("kept", 0, parts[0])
        try await stage("kept", 1, parts[1])
        _ = try await c.call(BlobMethod.commitBlocks.name, request: CommitBlocksRequest(container: "box", name: "kept", blockIDs: [[0], [1]]),
                             as: BlobProperties.self, metadata: a)
        try await stage("orphan", 0, [7, 7, 7])
        try await stage("kept", 0, [8])  // staged again after the commit, never committed
        #expect(try stagedFiles() == 4)

        var left = try stagedFiles()
        for _ in 0..<300 where left != 2 {
            try await Task.sleep(for: .milliseconds(100))
            left = try stagedFiles()
        }
        #expect(left == 2, "only the committed blob's two blocks stay")
        let got = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "box", name: "kept"), as: BlobGetResponse.self,
                                   metadata: a, idempotent: true)
        #expect(got.payload.flatMap { $0 } == parts.flatMap { $0 })
        await expectCode(.invalidArgument, contains: "was not staged") {
            _ = try await c.call(BlobMethod.commitBlocks.name, request: CommitBlocksRequest(container: "box", name: "orphan", blockIDs: [[0]]),
                                 as: BlobProperties.self, metadata: a)
        }
    }
}
