import AtRestCrypto
import AtRestKeyVault
@testable import AtRestMessaging
import AtRestWire
import AtRestTesting
import Foundation
import Testing

/// Infrastructure (double) encryption (issue 20) through the real processes on
/// the local directory: an account created with the option seals every blob
/// twice (header flag bit 2, a second tag per segment) and its queue records
/// too, under a second managed key of its own in the vault; an account without
/// it is unchanged.
@Suite(.serialized) struct InfrastructureEncryptionTests {
    @Test func doubleEncryptedAccountEndToEnd() async throws {
        try await ClusterOnStorage.with(.local, LocalCluster.blobClusterOptions) { on in try await endToEnd(on) }
    }

    func endToEnd(_ on: ClusterOnStorage) async throws {
        let cluster = on.cluster
        let (alice, _) = try await cluster.bootstrapUsers()
        let c = cluster.client
        let info = try await c.call("atrest.v1.Account/Create", request: AccountCreateRequest(accountID: "acct-x", infrastructureEncryption: true),
                                    as: AccountInfo.self, metadata: alice).message
        let plain = try await c.call("atrest.v1.Account/Create", request: AccountCreateRequest(accountID: "acct-p"), as: AccountInfo.self, metadata: alice).message
        #expect(info.infrastructureEncryption && !plain.infrastructureEncryption)
        #expect(try await c.call("atrest.v1.Account/Get", request: AccountRequest(accountID: "acct-x"), as: AccountInfo.self, metadata: alice)
            .message.infrastructureEncryption)

        // Two key chains: the vault generated a second account key under a second managed key, as the managed identity.
        let audit = try await c.call("atrest.v1.KeyVault/GetAuditLog", request: GetAuditLogRequest(), as: GetAuditLogResponse.self, metadata: alice).message.entries
        let generated = audit.filter { $0.operation == "GenerateWrappedKey" && $0.result == "ok" && $0.principalID == info.managedIdentity }
        let infraKey = try #require(generated.first { $0.key.keyID != info.encryption.keyID }?.key, "\(generated.map(\.key))").unversioned
        #expect(infraKey.provider == "managed" && generated.count == 2)

        let x = alice.merging(["account": "acct-x"]) { $1 }
        let p = alice.merging(["account": "acct-p"]) { $1 }
        for m in [x, p] {
            _ = try await c.call(BlobMethod.createContainer.name, request: ContainerRequest(container: "photos"), as: EmptyMessage.self, metadata: m)
        }

        // Round trips, byte-exact, with the object file's layout checked on disk.
        var blobs: [String: [UInt8]] = [:]
        for size in [0, 1, 65536, 65537, 3 << 20] {
            let data = (0..<size).map { UInt8(truncatingIfNeeded: ($0 >> 2) &* 37 &+ $0) }
            let name = "size-\(size).bin"
            let before = try await on.objectVersionNames()
            let props = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "photos", name: name, contentHash: try SHA256.hash(data)),
                                         as: BlobProperties.self, payload: data.isEmpty ? [] : [data], metadata: x).message
            #expect(props.length == UInt64(size))
            let file = try #require(try await on.objectVersionNames().subtracting(before).first)
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
            #expect(bytes[7] & 0x04 != 0, "flag bit 2 set")
            let segments = size == 0 ? 1 : (size + 65535) / 65536
            #expect(bytes.count == headerSize(bytes) + size + 32 * segments, "size \(size): two tags per segment")
            let got = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "photos", name: name), as: BlobGetResponse.self, metadata: x)
            #expect(got.payload.flatMap { $0 } == data, "size \(size)")
            blobs[name] = data
        }
        let big = try #require(blobs["size-\(3 << 20).bin"])
        for edge in [1, 65535, 65536, 65537, 2 << 20, (3 << 20) - 2] {
            let range = UInt64(edge - 1)..<UInt64(min(edge + 70_000, big.count))
            let part = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "photos", name: "size-\(3 << 20).bin", range: range),
                                        as: BlobGetResponse.self, metadata: x)
            #expect(part.payload.flatMap { $0 } == Array(big[Int(range.lowerBound)..<Int(range.upperBound)]), "range at \(edge)")
        }
        // Staged blocks and their block list: both sealed twice; ranges across blocks.
        let blocks: [[UInt8]] = (0..<3).map { i in (0..<(1 << 20) + 5).map { UInt8(truncatingIfNeeded: $0 &* (i + 3) &+ 11) } }
        let ids: [[UInt8]] = (0..<3).map { Array("blk-\($0)".utf8) }
        for (id, block) in zip(ids, blocks) {
            _ = try await c.call(BlobMethod.stageBlock.name, request: StageBlockRequest(container: "photos", name: "blocks.bin", blockID: id),
                                 as: StageBlockResponse.self, payload: [block], metadata: x)
        }
        let listBefore = try await on.objectVersionNames()
        _ = try await c.call(BlobMethod.commitBlocks.name, request: CommitBlocksRequest(container: "photos", name: "blocks.bin", blockIDs: ids),
                             as: BlobProperties.self, metadata: x)
        let manifest = try #require(try await on.objectVersionNames().subtracting(listBefore).first)
        let manifestBytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: manifest)))
        #expect(manifestBytes[7] & 0x05 == 0x05, "a block list sealed twice")
        let stagedFiles = cluster.allFiles().filter { $0.split(separator: "/").last!.hasPrefix("s-") }
        #expect(stagedFiles.count == 3)
        for staged in stagedFiles { #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: staged)))[7] & 0x04 != 0, "\(staged)") }
        let joined = blocks.flatMap { $0 }
        for range in [0..<100, (1 << 20)..<((1 << 20) + 200_000), (joined.count - 10)..<joined.count] {
            let part = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "photos", name: "blocks.bin",
                                                                                   range: UInt64(range.lowerBound)..<UInt64(range.upperBound)),
                                        as: BlobGetResponse.self, metadata: x)
            #expect(part.payload.flatMap { $0 } == Array(joined[range]), "block range \(range)")
        }

        // The account without the option writes single-layer objects, as before.
        let before = try await on.objectVersionNames()
        _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "photos", name: "one"), as: BlobProperties.self, payload: [[42]], metadata: p)
        let single = [UInt8](try Data(contentsOf: URL(fileURLWithPath: try #require(try await on.objectVersionNames().subtracting(before).first))))
        #expect(single[7] & 0x04 == 0 && single.count == headerSize(single) + 1 + 16)

        // Queues seal their records twice too (SealedRecord format 2): a message round trip.
        let secretBody = Array("body-infra-okapi-5521".utf8)
        _ = try await queueCall(c, QueueMethod.createQueue, QueueRequest(queue: "tasks"), x)
        _ = try await queueCall(c, QueueMethod.putMessage, PutMessageRequest(queue: "tasks", body: secretBody), x)
        let peeked = try await queueCall(c, QueueMethod.peekMessages, PeekMessagesRequest(queue: "tasks", count: 4), x).messages
        #expect(peeked.map(\.body) == [secretBody])

        // Nothing in clear in storage.
        let needles = [secretBody, Array("tasks".utf8), Array("size-65537.bin".utf8), Array("photos".utf8), Array(big[1_000_000..<1_000_064]), Array(blocks[1][500..<564]),
                       Array("acct-x".utf8)]
        let stored = try await on.storedObjects()
        #expect(stored.count > 10, "the scan saw \(stored.count) stored objects")
        for (name, bytes) in stored {
            for needle in needles {
                let found = contains(bytes, needle) || contains(Array(name.utf8), needle)
                #expect(!found, "\(name) holds '\(String(decoding: needle.prefix(20), as: UTF8.self))' in clear")
            }
        }

        // Tampering: a byte of the body, of the inner layer's tag and of the outer layer's tag
        // (1000 bytes: one segment = ciphertext ‖ inner tag ‖ outer tag) → DATA_LOSS; the service stays up.
        let victim = [UInt8](repeating: 7, count: 1000)
        let tamperBefore = try await on.objectVersionNames()
        _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "photos", name: "victim"), as: BlobProperties.self, payload: [victim], metadata: x)
        let victimFile = try #require(try await on.objectVersionNames().subtracting(tamperBefore).first)
        for (fromEnd, what) in [(32 + 500, "body"), (32, "inner tag, first byte"), (17, "inner tag, last byte"), (16, "outer tag, first byte"), (1, "outer tag, last byte")] {
            try await on.tamper(victimFile, fromEnd: fromEnd)
            await expectCode(.dataLoss, contains: "") {
                _ = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "photos", name: "victim"), as: BlobGetResponse.self, metadata: x)
            }
            try await on.tamper(victimFile, fromEnd: fromEnd)
            let back = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "photos", name: "victim"), as: BlobGetResponse.self, metadata: x)
            #expect(back.payload.flatMap { $0 } == victim, "restored after \(what)")
        }
        try await expectAllReadable(c, x, blobs)

        // The infrastructure key's own revocation (test-only: the service's key, disabled by the
        // system administrator) blocks the account; the account without the option keeps working.
        let system = try await cluster.systemKeyAdministrator()
        _ = try await c.call("atrest.v1.KeyVault/DisableKey", request: KeyRequest(infraKey), as: KeyResponse.self, metadata: system)
        try await eventually {
            do {
                _ = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "photos", name: "size-1.bin"), as: BlobGetResponse.self, metadata: x)
            } catch let status as RPCStatus where status.message.contains("not accessible") {
                return
            }
            throw RPCStatus(.failedPrecondition, "still readable")
        }
        await expectCode(.failedPrecondition, contains: "not accessible") {
            _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "photos", name: "new"), as: BlobProperties.self, payload: [[1]], metadata: x)
        }
        _ = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "photos", name: "one"), as: BlobGetResponse.self, metadata: p)
        _ = try await c.call("atrest.v1.KeyVault/EnableKey", request: KeyRequest(infraKey), as: KeyResponse.self, metadata: system)
        try await eventually { try await expectAllReadable(c, x, blobs) }

        // Rotating the infrastructure KEK re-wraps AEK_infra (like the current key): the data stays readable.
        _ = try await c.call("atrest.v1.KeyVault/RotateKey", request: RotateKeyRequest(infraKey), as: KeyResponse.self, metadata: system)
        try await eventually {
            let audit = try await c.call("atrest.v1.KeyVault/GetAuditLog", request: GetAuditLogRequest(), as: GetAuditLogResponse.self, metadata: system).message.entries
            // The vault audits a Rewrap as Unwrap + Wrap; AEK_infra was only ever generated (never wrapped) before.
            guard audit.contains(where: { $0.operation == "Wrap" && $0.result == "ok" && $0.key.keyID == infraKey.keyID }) else {
                throw RPCStatus(.failedPrecondition, "no re-wrap under the rotated key yet")
            }
        }
        try await expectAllReadable(c, x, blobs)
    }

    /// Fixed header ‖ metadata block length of a stored object (docs/FORMAT.md).
    func headerSize(_ bytes: [UInt8]) -> Int {
        let fixed = Int(bytes[8]) << 8 | Int(bytes[9])
        let m = Int(bytes[fixed + 12]) << 24 | Int(bytes[fixed + 13]) << 16 | Int(bytes[fixed + 14]) << 8 | Int(bytes[fixed + 15])
        return fixed + 16 + m + (bytes[7] & 0x04 != 0 ? 32 : 16)
    }
}
