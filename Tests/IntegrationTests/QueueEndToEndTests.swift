import AtRestIdentity
import AtRestKeyVault
@testable import AtRestMessaging
import AtRestTesting
import AtRestWire
import Foundation
import Testing

/// Queues end to end through the real processes (front door, two workers,
/// vault, identity), on the local backend and on a throwaway Ceph cluster.
@Suite(.serialized) struct QueueEndToEndTests {
    @Test(arguments: StorageUnderTest.allCases)
    func queuesEndToEnd(storage: StorageUnderTest) async throws {
        try await ClusterOnStorage.with(storage, LocalCluster.blobClusterOptions) { on in try await endToEnd(on) }
    }

    func endToEnd(_ on: ClusterOnStorage) async throws {
        let cluster = on.cluster
        try await cluster.waitForWorkers(count: 2)
        let (alice, bob) = try await cluster.bootstrapUsers()
        _ = try await cluster.adminIdentity().createUser(tenant: "t1", name: "carol", secret: "carol-secret-123456")
        _ = try await cluster.adminIdentity().grantRole(IdentityRoleRequest(tenant: "t1", name: "carol", role: "accountReader:acct-q"))
        let c = cluster.client
        _ = try await c.call("atrest.v1.Account/Create", request: AccountCreateRequest(accountID: "acct-q"), as: AccountInfo.self, metadata: alice)
        let a = alice.merging(["account": "acct-q"]) { $1 }
        let carol = try await cluster.login(tenant: "t1", "carol", "carol-secret-123456").merging(["account": "acct-q"]) { $1 }

        // Queues: create, duplicate, bad name, metadata, list.
        let secretMeta = "queue-meta-okapi-5521", queueName = "orders-pangolin-77"
        _ = try await queueCall(c, QueueMethod.createQueue, QueueRequest(queue: queueName, metadata: ["owner": secretMeta]), a)
        _ = try await queueCall(c, QueueMethod.createQueue, QueueRequest(queue: "drain"), a)
        await expectCode(.alreadyExists, contains: "already exists") { _ = try await queueCall(c, QueueMethod.createQueue, QueueRequest(queue: queueName), a) }
        await expectCode(.invalidArgument, contains: "lowercase") { _ = try await queueCall(c, QueueMethod.createQueue, QueueRequest(queue: "Bad_Name"), a) }
        await expectCode(.notFound, contains: "does not exist") { _ = try await queueCall(c, QueueMethod.putMessage, PutMessageRequest(queue: "nope", body: [1]), a) }
        let listed = try await queueCall(c, QueueMethod.listQueues, QueueListRequest(), a)
        #expect(listed.queues.map(\.queue) == ["drain", queueName] && listed.queues.last?.metadata == ["owner": secretMeta])

        // Messages: put, peek, get (receipt, dequeue count), hidden from others, update, delete, stale receipts.
        let secretBody = Array("body-narwhal-9931 ".utf8)
        var put: [QueueMessage] = []
        for i in 0..<3 { put.append(try await queueCall(c, QueueMethod.putMessage, PutMessageRequest(queue: queueName, body: secretBody + Array("\(i)".utf8)), a)) }
        #expect(put.allSatisfy { !$0.popReceipt.isEmpty && $0.expiresAtMs == $0.insertedAtMs + 7 * 86_400_000 })
        let peeked = try await queueCall(c, QueueMethod.peekMessages, PeekMessagesRequest(queue: queueName, count: 32), a).messages
        #expect(peeked.map(\.messageID) == put.map(\.messageID) && peeked.allSatisfy { $0.popReceipt.isEmpty && $0.dequeueCount == 0 })
        let got = try await queueCall(c, QueueMethod.getMessages, GetMessagesRequest(queue: queueName, count: 2, visibilitySeconds: 60), a).messages
        #expect(got.map(\.messageID) == Array(put.prefix(2)).map(\.messageID) && got.allSatisfy { $0.dequeueCount == 1 && !$0.popReceipt.isEmpty })
        #expect(try await queueCall(c, QueueMethod.peekMessages, PeekMessagesRequest(queue: queueName, count: 32), a).messages.map(\.messageID) == [put[2].messageID])
        let updated = try await queueCall(c, QueueMethod.updateMessage, UpdateMessageRequest(queue: queueName, messageID: got[0].messageID, popReceipt: got[0].popReceipt,
                                                                                        visibilitySeconds: 0, body: Array("changed".utf8)), a)
        #expect(updated.popReceipt != got[0].popReceipt)
        await expectCode(.notFound, contains: "pop receipt") {
            _ = try await queueCall(c, QueueMethod.deleteMessage, MessageRequest(queue: queueName, messageID: got[0].messageID, popReceipt: got[0].popReceipt), a)
        }
        await expectCode(.invalidArgument, contains: "pop receipt") {
            _ = try await queueCall(c, QueueMethod.deleteMessage, MessageRequest(queue: queueName, messageID: got[0].messageID, popReceipt: "x"), a)
        }
        // Visible again at once (ordered by next-visible time: after the third, which was visible since its put).
        let again = try await queueCall(c, QueueMethod.getMessages, GetMessagesRequest(queue: queueName, count: 32, visibilitySeconds: 60), a).messages
        #expect(Set(again.map(\.messageID)) == [got[0].messageID, put[2].messageID])
        let changed = try #require(again.first { $0.messageID == got[0].messageID })
        #expect(changed.body == Array("changed".utf8) && changed.dequeueCount == 2)
        _ = try await queueCall(c, QueueMethod.deleteMessage, MessageRequest(queue: queueName, messageID: changed.messageID, popReceipt: changed.popReceipt), a)

        // Limits and errors: a clear message, the service stays up.
        await expectCode(.invalidArgument, contains: "64 KiB") {
            _ = try await queueCall(c, QueueMethod.putMessage, PutMessageRequest(queue: queueName, body: [UInt8](repeating: 1, count: 65_537)), a)
        }
        await expectCode(.invalidArgument, contains: "time to live") {
            _ = try await queueCall(c, QueueMethod.putMessage, PutMessageRequest(queue: queueName, body: [1], ttlSeconds: 700_000), a)
        }
        await expectCode(.invalidArgument, contains: "visibility timeout") {
            _ = try await queueCall(c, QueueMethod.getMessages, GetMessagesRequest(queue: queueName, visibilitySeconds: 700_000), a)
        }
        await expectCode(.invalidArgument, contains: "1-32") { _ = try await queueCall(c, QueueMethod.peekMessages, PeekMessagesRequest(queue: queueName, count: 33), a) }

        // Readers may peek and get, not put or delete; other accounts' callers nothing.
        let visible = try await queueCall(c, QueueMethod.putMessage, PutMessageRequest(queue: queueName, body: secretBody), a)
        #expect(try await queueCall(c, QueueMethod.peekMessages, PeekMessagesRequest(queue: queueName, count: 32), carol).messages.map(\.messageID) == [visible.messageID])
        #expect(try await queueCall(c, QueueMethod.getMessages, GetMessagesRequest(queue: queueName, visibilitySeconds: 5), carol).messages.map(\.messageID) == [visible.messageID])
        await expectCode(.permissionDenied, contains: "accountOwner") { _ = try await queueCall(c, QueueMethod.putMessage, PutMessageRequest(queue: queueName, body: [1]), carol) }
        await expectCode(.permissionDenied, contains: "accountOwner") {
            _ = try await queueCall(c, QueueMethod.deleteMessage, MessageRequest(queue: queueName, messageID: visible.messageID, popReceipt: visible.popReceipt), carol)
        }
        await expectCode(.permissionDenied) { _ = try await queueCall(c, QueueMethod.listQueues, QueueListRequest(), bob.merging(["account": "acct-q"]) { $1 }) }

        // TTL: a message with a 1 s TTL is never returned once expired, and is removed.
        _ = try await queueCall(c, QueueMethod.putMessage, PutMessageRequest(queue: "drain", body: Array("short-lived".utf8), ttlSeconds: 1), a)
        try await eventually {
            let properties = try await queueCall(c, QueueMethod.peekMessages, PeekMessagesRequest(queue: "drain", count: 32), a)
            guard properties.messages.isEmpty else { throw RPCStatus(.unavailable, "not expired yet") }
        }
        #expect(try await queueCall(c, QueueMethod.getQueueProperties, QueueRequest(queue: "drain"), a).approximateMessageCount == 0)

        // 4 consumers over 2 workers drain 2,000 messages: each delivered once, all delivered.
        let total = 2000
        let ids = try await withThrowingTaskGroup(of: [String].self) { group in
            for producer in 0..<8 {
                group.addTask {
                    var ids: [String] = []
                    for i in stride(from: producer, to: total, by: 8) {
                        ids.append(try await queueCall(c, QueueMethod.putMessage, PutMessageRequest(queue: "drain", body: Array("msg \(i)".utf8)), a).messageID)
                    }
                    return ids
                }
            }
            var all: [String] = []
            for try await ids in group { all += ids }
            return all
        }
        #expect(Set(ids).count == total)
        let received = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<4 {
                group.addTask {
                    var mine: [String] = [], empty = 0
                    while empty < 3 {
                        let batch = try await queueCall(c, QueueMethod.getMessages, GetMessagesRequest(queue: "drain", count: 16, visibilitySeconds: 600), a).messages
                        empty = batch.isEmpty ? empty + 1 : 0
                        for message in batch {
                            mine.append(message.messageID)
                            _ = try await queueCall(c, QueueMethod.deleteMessage, MessageRequest(queue: "drain", messageID: message.messageID, popReceipt: message.popReceipt), a)
                        }
                    }
                    return mine
                }
            }
            var all: [String] = []
            for try await ids in group { all += ids }
            return all
        }
        #expect(received.count == total, "\(received.count) deliveries of \(total) messages")
        #expect(Set(received) == Set(ids))

        // Nothing of names, metadata, bodies or pop receipts in clear in the storage.
        _ = try await queueCall(c, QueueMethod.setQueueMetadata, QueueRequest(queue: queueName, metadata: ["owner": secretMeta]), a)
        let stored = try await on.storedObjects()
        #expect(!stored.isEmpty)
        for marker in [queueName, secretMeta, String(decoding: secretBody, as: UTF8.self), "msg 1999", String(updated.popReceipt.suffix(32))] {
            for object in stored {
                #expect(!object.name.contains(marker), "\(object.name) shows \(marker)")
                #expect(!contains(object.bytes, Array(marker.utf8)), "\(object.name) contains \(marker)")
            }
        }
        // Revocation, as for blobs: on a customer key, disabling it blocks queue calls (a clear key error), enabling it brings them back.
        let mi = try await c.call("atrest.v1.Account/Get", request: AccountRequest(accountID: "acct-q"), as: AccountInfo.self, metadata: alice).message.managedIdentity
        _ = try await c.call("atrest.v1.KeyVault/CreateKey", request: CreateKeyRequest(provider: "customer", spec: KeySpec(keyID: "cmkq")), as: KeyResponse.self, metadata: alice)
        _ = try await c.call("atrest.v1.KeyVault/GrantAccess", request: AccessRequest(AccessGrant(key: KeyRef(provider: "customer", keyID: "cmkq"), principalID: mi, operations: [.wrap, .unwrap])),
                             as: AccessResponse.self, metadata: alice)
        _ = try await c.call("atrest.v1.Account/SetEncryption", request: AccountSetEncryptionRequest(accountID: "acct-q", keySource: "customer", keyID: "cmkq"),
                             as: AccountEncryption.self, metadata: alice)
        let kept = try await queueCall(c, QueueMethod.putMessage, PutMessageRequest(queue: queueName, body: Array("kept".utf8)), a)
        _ = try await c.call("atrest.v1.KeyVault/DisableKey", request: KeyRequest(KeyRef(provider: "customer", keyID: "cmkq")), as: KeyResponse.self, metadata: alice)
        let started = ContinuousClock.now
        var failure: RPCStatus?
        while failure == nil, ContinuousClock.now - started < .seconds(10) {
            do {
                _ = try await queueCall(c, QueueMethod.peekMessages, PeekMessagesRequest(queue: queueName, count: 32), a)
                try await Task.sleep(for: .milliseconds(20))
            } catch let status as RPCStatus { failure = status }
        }
        print("queue revocation took effect after \(ContinuousClock.now - started)")
        #expect([.failedPrecondition, .permissionDenied].contains(failure?.code) && failure?.message.contains("not accessible") == true, "\(String(describing: failure))")
        await expectCode(.failedPrecondition, contains: "not accessible") { _ = try await queueCall(c, QueueMethod.putMessage, PutMessageRequest(queue: queueName, body: [1]), a) }
        await expectCode(.failedPrecondition, contains: "not accessible") { _ = try await queueCall(c, QueueMethod.listQueues, QueueListRequest(), a) }
        _ = try await c.call("atrest.v1.KeyVault/EnableKey", request: KeyRequest(KeyRef(provider: "customer", keyID: "cmkq")), as: KeyResponse.self, metadata: alice)
        try await eventually {
            let ids = try await queueCall(c, QueueMethod.peekMessages, PeekMessagesRequest(queue: queueName, count: 32), a).messages.map(\.messageID)
            guard ids.contains(kept.messageID) else { throw RPCStatus(.notFound, "kept message not back yet") }
        }

        _ = try await queueCall(c, QueueMethod.clearMessages, QueueRequest(queue: queueName), a)
        #expect(try await queueCall(c, QueueMethod.getQueueProperties, QueueRequest(queue: queueName), a).approximateMessageCount == 0)
        _ = try await queueCall(c, QueueMethod.deleteQueue, QueueRequest(queue: queueName), a)
        #expect(try await queueCall(c, QueueMethod.listQueues, QueueListRequest(), a).queues.map(\.queue) == ["drain"])
    }
}

/// One call of `method` with the caller's metadata.
func queueCall<Request: WireMessage, Reply: WireMessage>(_ c: RPCClient, _ method: RPCMethod<Request, Reply>, _ request: Request,
                                                         _ metadata: [String: String]) async throws -> Reply {
    try await c.call(method.name, request: request, as: Reply.self, metadata: metadata).message
}
