import AtRestTesting
import AtRestWire
import Foundation
import Testing

/// scripts/backup.sh on a running cluster that keeps writing, restored into a fresh directory
/// as docs/OPERATIONS.md "Backup and restore" says: a fresh cluster on the
/// restored directories serves every blob byte-exact, and `atrest-recover
/// --verify` finds every object good. Queue messages too: their record maps
/// (SQLite in WAL mode, written all through the backup) are copied as
/// snapshots, and every message acknowledged before the backup is back.
@Suite(.serialized) struct BackupRestoreTests {
    @Test func aBackupTakenWhileRunningRestoresEveryBlob() async throws {
        let fixture = try await RecoveryFixture.start(tag: "backup")
        defer { fixture.remove() }
        let root = fixture.root, work = root + "/backup-work"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let bin = ServiceProcess.binDirectory.path
        // Writes go on during the backup: new blobs, and a block list replaced again and again.
        let alice = try await fixture.cluster.login(tenant: "t1", "alice", "alice-secret-123456")
        let queueCaller = alice.merging(["account": "acct-m"]) { $1 }
        _ = try await queueCall(fixture.cluster.client, QueueMethod.createQueue, QueueRequest(queue: "jobs"), queueCaller)
        var before: [String: [UInt8]] = [:]
        for i in 0..<20 {
            let body = RecoveryFixture.content(900, seed: 500 + i)
            before[try await queueCall(fixture.cluster.client, QueueMethod.putMessage, PutMessageRequest(queue: "jobs", body: body), queueCaller).messageID] = body
        }
        let writer = Task { try await Self.keepWriting(fixture.cluster, alice.merging(["account": "acct-m"]) { $1 }) }
        let backup = try await ClientTools.run("/bin/bash", [
            ClientTools.repoRoot + "/scripts/backup.sh", "--objects", fixture.objectsDirectory, "--frontdoor", fixture.frontDoorDirectory,
            "--vault", fixture.vaultDirectory, "--identity", root + "/identity", "--out", work + "/backup", "--keys-out", work + "/keys",
            "--recover", bin + "/atrest-recover",
        ], in: work, timeout: .seconds(300))
        writer.cancel()
        let written = try await writer.value
        try #require(backup.status == 0, "\(backup.transcript)")
        #expect(written > 0, "no write ran during the backup")
        // Three accounts in the recovery fixture: acct-m, acct-c and acct-i (infrastructure encryption).
        #expect(backup.stdout.contains("verified: summary accounts=3") && backup.stdout.contains("damaged=0"), "\(backup.transcript)")
        // The keys are apart from the data: no root key file in the backup.
        #expect(try DataSnapshot.files(under: work + "/backup").allSatisfy { !$0.hasSuffix("root.key") && !$0.hasSuffix("registry.key") })
        fixture.stop()

        // Restore into a fresh directory (the commands of docs/OPERATIONS.md "Backup and restore").
        let restored = LocalCluster.temporaryDirectory("restored")
        defer { try? FileManager.default.removeItem(atPath: restored) }
        let b = work + "/backup", k = work + "/keys"
        let restore = try await ClientTools.run("/bin/bash", ["-euc", """
            umask 077
            mkdir -p "$R/frontdoor"
            cp -a "$B/objects" "$R/objects"
            cp -a "$B/registry-store" "$R/frontdoor/registry-store"
            cp -a "$B/vault" "$R/vault"
            cp -a "$B/identity" "$R/identity"
            install -m 600 "$K/frontdoor-root.key" "$R/frontdoor/registry.key"
            install -m 600 "$K/vault-root.key" "$R/vault/root.key"
            install -m 600 "$K/identity-root.key" "$R/identity/root.key"
            """], environment: ["R": restored, "B": b, "K": k], in: work)
        try #require(restore.status == 0, "\(restore.transcript)")

        // Offline: every object good.
        let verified = try await ClientTools.run(bin + "/atrest-recover", [
            "--vault-dir", restored + "/vault", "--frontdoor-dir", restored + "/frontdoor", "--data-dir", restored + "/objects", "--verify",
        ], in: work, timeout: .seconds(120))
        #expect(verified.status == 0, "\(verified.transcript)")
        #expect(Int(verified.fields("summary")?["objects"] ?? "") ?? 0 >= fixture.blobCount && verified.fields("summary")?["damaged"] == "0",
                "\(verified.transcript)")

        // Online: a fresh cluster on the restored directories serves every blob.
        let cluster = try LocalCluster(.init(root: restored, rootTag: "restored", workers: 1))
        defer { cluster.stopProcesses() }
        try await cluster.waitForWorkers(count: 1)
        let restoredAlice = try await cluster.login(tenant: "t1", "alice", "alice-secret-123456")
        var read = 0
        for (account, containers) in fixture.blobs {
            for (container, blobs) in containers {
                for (name, content) in blobs {
                    let got = try await cluster.client.call(BlobMethod.get.name, request: BlobGetRequest(container: container, name: name),
                                                            as: BlobGetResponse.self, metadata: restoredAlice.merging(["account": account]) { $1 })
                    #expect(got.payload.flatMap { $0 } == content, "\(account)/\(container)/\(name)")
                    read += 1
                }
            }
        }
        #expect(read == fixture.blobCount)
        // Every message acknowledged before the backup, byte-exact (those put during it may be there too).
        let caller = restoredAlice.merging(["account": "acct-m"]) { $1 }
        var restoredMessages: [String: [UInt8]] = [:]
        while true {
            let got = try await queueCall(cluster.client, QueueMethod.getMessages, GetMessagesRequest(queue: "jobs", count: 32, visibilitySeconds: 300), caller).messages
            if got.isEmpty { break }
            for message in got { restoredMessages[message.messageID] = message.body }
        }
        for (id, body) in before { #expect(restoredMessages[id] == body, "message \(id) of the backup") }
        #expect(restoredMessages.count >= before.count)
    }

    /// Puts blobs and re-commits a three-block list until cancelled; the count of acknowledged writes.
    static func keepWriting(_ cluster: LocalCluster, _ m: [String: String]) async throws -> Int {
        var count = 0
        while !Task.isCancelled {
            let part = RecoveryFixture.content(70_000, seed: count)
            do {
                _ = try await cluster.client.call(BlobMethod.put.name, request: BlobPutRequest(container: "docs", name: "live-\(count)"),
                                                  as: BlobProperties.self, payload: [part], metadata: m)
                let ids = (0..<3).map { Array("r\(count)-\($0)".utf8) }
                for id in ids {
                    _ = try await cluster.client.call(BlobMethod.stageBlock.name, request: StageBlockRequest(container: "docs", name: "rolling.bin", blockID: id),
                                                      as: StageBlockResponse.self, payload: [part], metadata: m)
                }
                _ = try await queueCall(cluster.client, QueueMethod.putMessage, PutMessageRequest(queue: "jobs", body: part.prefix(1000).map { $0 }), m)
                _ = try await cluster.client.call(BlobMethod.commitBlocks.name, request: CommitBlocksRequest(container: "docs", name: "rolling.bin", blockIDs: ids),
                                                  as: BlobProperties.self, metadata: m)
                count += 1
            } catch where Task.isCancelled {
                break  // the call cut short by the cancellation
            }
        }
        return count
    }
}
