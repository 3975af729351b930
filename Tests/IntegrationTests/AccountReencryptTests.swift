import AtRestMessaging
import AtRestTesting
import AtRestWire
import Foundation
import Testing

/// Issue 20, re-encryption: after a rotation, `atrest account reencrypt`
/// rewrites every blob (plain and committed block lists) under the current
/// account key version; killed with SIGKILL mid-way and run again it
/// completes, and every blob reads back byte-exact before, during and after.
@Suite("Account re-encryption", .serialized)
struct AccountReencryptTests {
    @Test func reencryptKilledMidwayThenRerunCompletes() async throws {
        let cluster = try LocalCluster.blobCluster()
        defer { cluster.stop() }
        let (alice, _) = try await cluster.bootstrapUsers()
        let c = cluster.client
        let env = ["ATREST_CONFIG": "\(cluster.root)/cli/config.json"]
        let endpoint = cluster.frontDoor.endpoint
        func atrest(_ args: [String]) async throws -> (status: Int32, out: String, err: String) {
            try await runTool("atrest", args + ["--endpoint", endpoint], environment: env)
        }
        func objectVersions() throws -> [UInt32] {
            // Objects (o-) and block files (s-): everything sealed under an account key version.
            try cluster.allFiles().filter { path in
                let file = path.split(separator: "/").last!
                return path.contains("/objects/") && (file.hasPrefix("o-") || file.hasPrefix("s-"))
            }
                .map { try AccountKeyRotationTests.accountKeyVersion(ofObjectFile: $0) }
        }
        try "alice-secret-123456".write(toFile: "\(cluster.root)/alice.secret", atomically: true, encoding: .utf8)
        #expect(try await atrest(["login", "--tenant", "t1", "--user", "alice", "--secret-file", "\(cluster.root)/alice.secret"]).status == 0)
        _ = try await c.call(AccountMethod.create.name, request: AccountCreateRequest(accountID: "re-acct"), as: AccountInfo.self, metadata: alice)
        let a = alice.merging(["account": "re-acct"]) { $1 }
        var blobs: [String: [UInt8]] = [:]
        for container in ["one", "two"] {
            _ = try await c.call(BlobMethod.createContainer.name, request: ContainerRequest(container: container), as: EmptyMessage.self, metadata: a)
        }
        for index in 0..<40 {
            let data = (0..<(index * 997 % 70_000)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ index) }
            let container = index % 2 == 0 ? "one" : "two"
            _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: container, name: "b\(index)"), as: BlobProperties.self,
                                 payload: data.isEmpty ? [] : [data], metadata: a)
            blobs["\(container)/b\(index)"] = data
        }
        // A committed block list too: its blocks are rewritten with it.
        let parts: [[UInt8]] = [Array(repeating: 1, count: 70_000), Array(repeating: 2, count: 5)]
        for (i, part) in parts.enumerated() {
            _ = try await c.call(BlobMethod.stageBlock.name, request: StageBlockRequest(container: "one", name: "blocks", blockID: [UInt8(i)]),
                                 as: StageBlockResponse.self, payload: [part], metadata: a)
        }
        _ = try await c.call(BlobMethod.commitBlocks.name, request: CommitBlocksRequest(container: "one", name: "blocks", blockIDs: [[0], [1]]),
                             as: BlobProperties.self, metadata: a)
        blobs["one/blocks"] = parts.flatMap { $0 }

        func expectAllReadable() async throws {
            for (path, data) in blobs {
                let (container, name) = (String(path.split(separator: "/")[0]), String(path.split(separator: "/")[1]))
                let got = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: container, name: name), as: BlobGetResponse.self,
                                           metadata: a, idempotent: true)
                #expect(got.payload.flatMap { $0 } == data, "\(path)")
            }
        }
        #expect(Set(try objectVersions()) == [1])
        #expect(try await atrest(["account", "rotate-key", "re-acct"]).status == 0)

        // Start the job (one object per page: slow enough to interrupt), read everything while it runs, SIGKILL it mid-way.
        let process = Process()
        process.executableURL = ServiceProcess.binDirectory.appendingPathComponent("atrest")
        process.arguments = ["account", "reencrypt", "re-acct", "--page-size", "1", "--endpoint", endpoint]
        process.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        var midway: [UInt32] = []
        while process.isRunning {
            try await expectAllReadable()
            let versions = try objectVersions()
            if versions.contains(2) && versions.contains(1) { midway = versions; break }
            try await Task.sleep(for: .milliseconds(20))
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(midway.contains(1) && midway.contains(2), "the job was interrupted with objects under both versions: \(midway)")
        try await expectAllReadable()

        // Run again: it finishes what is left; a third run finds nothing to do.
        let rerun = try await atrest(["account", "reencrypt", "re-acct", "--json"])
        #expect(rerun.status == 0, "\(rerun.err)")
        let summary = (try? JSONSerialization.jsonObject(with: Data(rerun.out.utf8))) as? [String: Any] ?? [:]
        #expect(summary["accountKeyVersion"] as? Int == 2 && summary["objects"] as? Int == blobs.count, "\(rerun.out)")
        #expect((summary["rewritten"] as? Int ?? 0) > 0 && (summary["rewritten"] as? Int ?? 0) < blobs.count, "\(rerun.out)")
        #expect(Set(try objectVersions()) == [2], "every object (and every block of the block list) is under version 2")
        try await expectAllReadable()
        let again = try await atrest(["account", "reencrypt", "re-acct", "--container", "one", "--json"])
        let second = (try? JSONSerialization.jsonObject(with: Data(again.out.utf8))) as? [String: Any] ?? [:]
        #expect(again.status == 0 && second["rewritten"] as? Int == 0 && second["objects"] as? Int == 21, "\(again.out) \(again.err)")
    }
}
