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
/// committed blob stays and the blob reads back whole. The same pass
/// collects orphaned disk extents (docs/FORMAT.md "Extents").
@Suite(.serialized) struct BlockCollectionTests {
    /// One worker, a collection pass every second at a retention of 0, and
    /// alice's account `account` created.
    static func collectingCluster(_ tag: String, account: String) async throws -> (LocalCluster, alice: [String: String]) {
        var options = LocalCluster.blobClusterOptions
        options.rootTag = tag
        options.workers = 1
        options.extraArguments[.frontDoor] = ["--uncommitted-block-retention", "0", "--block-collection-interval", "1"]
        let cluster = try LocalCluster(options)
        do {
            let (alice, _) = try await cluster.bootstrapUsers()
            _ = try await cluster.client.call(AccountMethod.create.name, request: AccountCreateRequest(accountID: account), as: AccountInfo.self,
                                              metadata: alice)
            return (cluster, alice)
        } catch {
            cluster.stop()
            throw error
        }
    }

    @Test func uncommittedBlocksGoCommittedOnesStay() async throws {
        let (cluster, alice) = try await Self.collectingCluster("blockgc", account: "gc-acct")
        defer { cluster.stop() }
        let c = cluster.client
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

    /// A disk's extents with their batch lost (the region map's records
    /// removed behind the worker's back, as a crash between the extent's put
    /// and its batch leaves them: objects nothing names) are condemned by the
    /// periodic pass (a tombstone at each marker key) and deleted; extents a
    /// batch names stay through many passes, and the disk takes new writes.
    @Test func orphanedExtentsGoNamedOnesStay() async throws {
        let (cluster, _) = try await Self.collectingCluster("extentgc", account: "gc-disk")
        defer { cluster.stop() }
        let token = try await cluster.token(tenant: "t1", "alice", "alice-secret-123456")
        let disks = DiskClient(ServiceClient(rpc: cluster.client, token: token), account: "gc-disk")
        _ = try await disks.create("vm-disk", size: 1 << 30)
        let data = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        try await disks.putPages("vm-disk", offset: 0, data: data)

        func extentFiles() -> [String] {
            cluster.allFiles().filter { $0.contains("/objects/") && $0.split(separator: "/").last!.hasPrefix("kx-") }
        }
        func regionMap() throws -> String {
            try #require(cluster.allFiles().first { $0.contains("/.records/") && $0.split(separator: "/").last!.hasPrefix("k-") && $0.hasSuffix(".sqlite") })
        }
        func sqlite(_ sql: String) throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
            process.arguments = ["-cmd", ".timeout 10000", try regionMap(), sql]
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "sqlite3 \(sql)")
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        // 1 MiB of a disk: two aligned batches of 128 chunks, an extent each, named by their markers.
        #expect(extentFiles().count == 2)
        #expect(try sqlite("SELECT count(*) FROM records WHERE key LIKE 'x-%'") == "2")
        try await Task.sleep(for: .seconds(3))  // passes at a retention of 0
        #expect(extentFiles().count == 2, "named extents stay")
        #expect(try await disks.getPages("vm-disk", offset: 0, length: data.count) == data)

        // The batches "never landed": no reference, no marker; the objects are orphans.
        #expect(try sqlite("DELETE FROM records; SELECT changes();") == "258")
        var left = extentFiles().count
        for _ in 0..<300 where left != 0 {
            try await Task.sleep(for: .milliseconds(100))
            left = extentFiles().count
        }
        #expect(left == 0, "the orphaned extents are deleted")
        #expect(try sqlite("SELECT count(*) FROM records WHERE key LIKE 'x-%'") == "2", "a tombstone at each marker key")
        #expect(try sqlite("SELECT count(*) FROM records WHERE key NOT LIKE 'x-%'") == "0")
        #expect(try await disks.getPages("vm-disk", offset: 0, length: 4096) == [UInt8](repeating: 0, count: 4096))

        // The disk goes on: new extents (new ids) beside the tombstones, read back whole.
        try await disks.putPages("vm-disk", offset: 0, data: Array(data.reversed()))
        try await Task.sleep(for: .seconds(2))
        #expect(extentFiles().count == 2)
        #expect(try await disks.getPages("vm-disk", offset: 0, length: data.count) == Array(data.reversed()))
    }
}
