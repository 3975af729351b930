import AtRestTesting
import AtRestWire
import Foundation
import Testing

/// scripts/backup.sh on a running cluster, restored into a fresh directory
/// as docs/OPERATIONS.md "Backup and restore" says: a fresh cluster on the
/// restored directories serves every blob byte-exact, and `atrest-recover
/// --verify` finds every object good.
@Suite(.serialized) struct BackupRestoreTests {
    @Test func aBackupTakenWhileRunningRestoresEveryBlob() async throws {
        let fixture = try await RecoveryFixture.start(tag: "backup")
        defer { fixture.remove() }
        let root = fixture.root, work = root + "/backup-work"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let bin = ServiceProcess.binDirectory.path
        let backup = try await ClientTools.run("/bin/bash", [
            ClientTools.repoRoot + "/scripts/backup.sh", "--objects", fixture.objectsDirectory, "--frontdoor", fixture.frontDoorDirectory,
            "--vault", fixture.vaultDirectory, "--identity", root + "/identity", "--out", work + "/backup", "--keys-out", work + "/keys",
            "--recover", bin + "/atrest-recover",
        ], in: work, timeout: .seconds(300))
        try #require(backup.status == 0, "\(backup.transcript)")
        #expect(backup.stdout.contains("verified: summary accounts=2") && backup.stdout.contains("damaged=0"), "\(backup.transcript)")
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
        #expect(verified.fields("summary")?["objects"] == "\(fixture.blobCount)" && verified.fields("summary")?["damaged"] == "0",
                "\(verified.transcript)")

        // Online: a fresh cluster on the restored directories serves every blob.
        let cluster = try LocalCluster(.init(root: restored, rootTag: "restored", workers: 1))
        defer { cluster.stopProcesses() }
        try await cluster.waitForWorkers(count: 1)
        let alice = try await cluster.login(tenant: "t1", "alice", "alice-secret-123456")
        var read = 0
        for (account, containers) in fixture.blobs {
            for (container, blobs) in containers {
                for (name, content) in blobs {
                    let got = try await cluster.client.call(BlobMethod.get.name, request: BlobGetRequest(container: container, name: name),
                                                            as: BlobGetResponse.self, metadata: alice.merging(["account": account]) { $1 })
                    #expect(got.payload.flatMap { $0 } == content, "\(account)/\(container)/\(name)")
                    read += 1
                }
            }
        }
        #expect(read == fixture.blobCount)
    }
}
