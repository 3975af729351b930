import AtRestCrypto
import AtRestTesting
import AtRestWire
import Foundation

/// A real cluster's data for the recovery tests: two accounts of tenant t1,
/// `acct-m` on its managed key and `acct-c` switched to the customer key
/// `ck` (written before and after the switch), each with small,
/// multi-segment and block-list blobs, and a queue `tasks` with visible and
/// claimed (invisible) messages. `stop()` stops the processes and
/// keeps the data directories, which is what an operator recovers from.
struct RecoveryFixture {
    let cluster: LocalCluster
    /// account → container → blob name → content.
    let blobs: [String: [String: [String: [UInt8]]]]
    /// account → queue → message id → body.
    let messages: [String: [String: [String: [UInt8]]]]

    var root: String { cluster.root }
    var vaultDirectory: String { "\(root)/vault" }
    var vaultRootKey: String { "\(root)/vault/root.key" }
    var frontDoorDirectory: String { "\(root)/frontdoor" }
    var registryDirectory: String { "\(root)/frontdoor/registry-store" }
    var frontDoorRootKey: String { "\(root)/frontdoor/registry.key" }
    var objectsDirectory: String { cluster.objectsDirectory }
    var blobCount: Int { blobs.values.flatMap(\.values).map(\.count).reduce(0, +) }
    var messageCount: Int { messages.values.flatMap(\.values).map(\.count).reduce(0, +) }

    static func start(tag: String, storage: LocalCluster.Options.Storage = .local) async throws -> RecoveryFixture {
        var options = LocalCluster.Options(rootTag: tag, workers: 1)
        options.storage = storage
        let cluster = try LocalCluster(options)
        do {
            let (blobs, messages) = try await fill(cluster)
            return RecoveryFixture(cluster: cluster, blobs: blobs, messages: messages)
        } catch {
            cluster.stop()
            throw error
        }
    }

    /// Stops the processes; the data stays until `remove()`.
    func stop() { cluster.stopProcesses() }
    func remove() { cluster.stop() }

    /// The directories an offline recovery must leave byte for byte as they were.
    var dataDirectories: [String] { [vaultDirectory, frontDoorDirectory, objectsDirectory] }

    /// `ROOT/recover`, created: where `atrest-recover` runs and extracts.
    func workDirectory() throws -> String {
        let work = root + "/recover"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        return work
    }

    /// Runs `atrest-recover` in `work` on this fixture's key directories and
    /// its storage: the local data directory, or `ceph`'s pool when given.
    func recover(_ extra: [String], in work: String, ceph: CephDevCluster? = nil,
                 timeout: Duration = .seconds(120)) async throws -> ClientTools.Output {
        let storage = ceph.map {
            ["--backend", "rados", "--ceph-conf", $0.confFile, "--ceph-user", "client.atrest", "--ceph-keyring", $0.keyringFile, "--pool", $0.pool]
        } ?? ["--data-dir", objectsDirectory]
        return try await ClientTools.run(ServiceProcess.binDirectory.path + "/atrest-recover",
                                         ["--vault-dir", vaultDirectory, "--frontdoor-dir", frontDoorDirectory] + storage + extra,
                                         in: work, timeout: timeout)
    }

    /// The root keys (vault, front door registry) as written on disk, which
    /// no output of the tool may contain.
    func rootKeys() throws -> [String] {
        try [vaultRootKey, frontDoorRootKey].map {
            try String(contentsOfFile: $0, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    static func content(_ size: Int, seed: Int) -> [UInt8] {
        (0..<size).map { UInt8(truncatingIfNeeded: ($0 >> 5) &* 131 &+ $0 &* 7 &+ seed) }
    }

    private static func fill(_ cluster: LocalCluster) async throws -> (blobs: [String: [String: [String: [UInt8]]]],
                                                                      messages: [String: [String: [String: [UInt8]]]]) {
        let (alice, _) = try await cluster.bootstrapUsers()
        try await cluster.waitForWorkers(count: 1)
        let c = cluster.client
        var blobs: [String: [String: [String: [UInt8]]]] = [:]
        var messages: [String: [String: [String: [UInt8]]]] = [:]
        func putMessage(_ account: String, _ body: [UInt8]) async throws {
            let m = alice.merging(["account": account]) { $1 }
            let put = try await queueCall(c, QueueMethod.putMessage, PutMessageRequest(queue: "tasks", body: body), m)
            messages[account, default: [:]]["tasks", default: [:]][put.messageID] = body
        }
        func put(_ account: String, _ container: String, _ name: String, _ data: [UInt8]) async throws {
            let m = alice.merging(["account": account]) { $1 }
            _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: container, name: name),
                                 as: BlobProperties.self, payload: data.isEmpty ? [] : [data], metadata: m)
            blobs[account, default: [:]][container, default: [:]][name] = data
        }
        func putBlocks(_ account: String, _ container: String, _ name: String, sizes: [Int]) async throws {
            let m = alice.merging(["account": account]) { $1 }
            var whole: [UInt8] = []
            var ids: [[UInt8]] = []
            for (index, size) in sizes.enumerated() {
                let part = content(size, seed: index + 40)
                ids.append(Array("blk-\(index)".utf8))
                _ = try await c.call(BlobMethod.stageBlock.name, request: StageBlockRequest(container: container, name: name, blockID: ids[index]),
                                     as: StageBlockResponse.self, payload: [part], metadata: m)
                whole += part
            }
            _ = try await c.call(BlobMethod.commitBlocks.name, request: CommitBlocksRequest(container: container, name: name, blockIDs: ids),
                                 as: BlobProperties.self, metadata: m)
            blobs[account, default: [:]][container, default: [:]][name] = whole
        }
        for account in ["acct-m", "acct-c"] {
            _ = try await c.call("atrest.v1.Account/Create", request: AccountCreateRequest(accountID: account), as: AccountInfo.self, metadata: alice)
            let m = alice.merging(["account": account]) { $1 }
            for container in ["photos", "docs"] {
                _ = try await c.call(BlobMethod.createContainer.name, request: ContainerRequest(container: container), as: EmptyMessage.self, metadata: m)
            }
            try await put(account, "photos", "empty", [])
            try await put(account, "photos", "one byte", [7])
            try await put(account, "photos", "dir/multi-segment.bin", content(3 * 65536 + 123, seed: 1))
            try await putBlocks(account, "docs", "blocks.bin", sizes: [70_000, 1, 65536])
            _ = try await queueCall(c, QueueMethod.createQueue, QueueRequest(queue: "tasks"), m)
            for i in 0..<3 { try await putMessage(account, content(100 + i * 900, seed: 70 + i)) }
            try await putMessage(account, [])
            // One claimed: invisible for an hour, still recovered.
            _ = try await queueCall(c, QueueMethod.getMessages, GetMessagesRequest(queue: "tasks", count: 1, visibilitySeconds: 3600), m)
        }
        // acct-i has infrastructure encryption: its blobs are sealed twice (docs/FORMAT.md "Infrastructure layer").
        _ = try await c.call("atrest.v1.Account/Create", request: AccountCreateRequest(accountID: "acct-i", infrastructureEncryption: true),
                             as: AccountInfo.self, metadata: alice)
        for container in ["photos", "docs"] {
            _ = try await c.call(BlobMethod.createContainer.name, request: ContainerRequest(container: container), as: EmptyMessage.self,
                                 metadata: alice.merging(["account": "acct-i"]) { $1 })
        }
        try await put("acct-i", "photos", "empty", [])
        try await put("acct-i", "photos", "dir/multi-segment.bin", content(2 * 65536 + 77, seed: 9))
        try await putBlocks("acct-i", "docs", "blocks.bin", sizes: [65537, 3])
        // acct-c moves to a customer key: its account key is re-wrapped, the old objects stay as they are.
        _ = try await c.call("atrest.v1.KeyVault/CreateKey", request: CreateKeyRequest(provider: "customer", spec: KeySpec(keyID: "ck")),
                             as: KeyResponse.self, metadata: alice)
        _ = try await c.call("atrest.v1.KeyVault/GrantAccess", request: AccessRequest(AccessGrant(key: KeyRef(provider: "customer", keyID: "ck"),
                             principalID: "", operations: [.wrap, .unwrap], accountID: "acct-c")), as: AccessResponse.self, metadata: alice)
        _ = try await c.call("atrest.v1.Account/SetEncryption", request: AccountSetEncryptionRequest(accountID: "acct-c", keySource: "customer", keyID: "ck"),
                             as: AccountEncryption.self, metadata: alice)
        try await put("acct-c", "docs", "after-switch.txt", Array("written under the customer key".utf8))
        try await putMessage("acct-c", Array("queued under the customer key".utf8))
        return (blobs, messages)
    }
}
