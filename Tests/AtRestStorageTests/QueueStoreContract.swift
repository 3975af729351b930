import AtRestCrypto
@testable import AtRestStorage
import Synchronization
import Testing

/// A clock the test moves (milliseconds since the epoch).
final class TestClock: Sendable {
    let now = Mutex<Int64>(1_800_000_000_000)
    func advance(seconds: Int64) { now.withLock { $0 += seconds * 1000 } }
    var read: @Sendable () -> Int64 { { [self] in now.withLock { $0 } } }
}

/// The queue engine over the record map interface, written once and run on
/// every backend (two connections, as two workers have).
enum QueueStoreContract {
    static let account = "acct"

    static func expectError<T>(_ code: StorageError.Code, _ text: String? = nil, _ body: () async throws -> T,
                               sourceLocation: SourceLocation = #_sourceLocation) async {
        await BackendContract.expectError(code, text, body, sourceLocation: sourceLocation)
    }

    /// Create, list (prefix, pages), metadata, properties, delete, create again.
    static func queues(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        let key = try Fixtures.accountKey()
        let a = QueueStore(backend: one), b = QueueStore(backend: two)
        #expect(try await a.listQueues(account: account, accountKey: key) == QueueListing(queues: [], continuation: nil))
        for name in ["orders", "orders-eu", "billing", "zz9"] {
            try await (name.count % 2 == 0 ? a : b).createQueue(account: account, name: name, metadata: ["owner": name], accountKey: key)
        }
        await expectError(.alreadyExists) { try await b.createQueue(account: account, name: "orders", accountKey: key) }
        for bad in ["ab", "Orders", "-orders", "orders-", "ord--ers", String(repeating: "a", count: 64), "ordérs", "or_ders"] {
            await expectError(.invalidArgument, "queue name") { try await a.createQueue(account: account, name: bad, accountKey: key) }
        }
        await expectError(.invalidArgument, "metadata key") {
            try await a.createQueue(account: account, name: "meta", metadata: ["bad key": "x"], accountKey: key)
        }
        let all = try await b.listQueues(account: account, accountKey: key)
        #expect(all.queues.map(\.name) == ["billing", "orders", "orders-eu", "zz9"])
        #expect(all.queues.map(\.metadata) == [["owner": "billing"], ["owner": "orders"], ["owner": "orders-eu"], ["owner": "zz9"]])
        let first = try await a.listQueues(account: account, limit: 3, accountKey: key)
        #expect(first.queues.map(\.name) == ["billing", "orders", "orders-eu"] && first.continuation == "orders-eu")
        #expect(try await a.listQueues(account: account, continuation: first.continuation, limit: 3, accountKey: key).queues.map(\.name) == ["zz9"])
        #expect(try await a.listQueues(account: account, prefix: "orders", accountKey: key).queues.map(\.name) == ["orders", "orders-eu"])
        // Another account sees none of them.
        #expect(try await a.listQueues(account: "other", accountKey: key).queues == [])
        await expectError(.notFound, "does not exist") { try await a.properties(account: "other", name: "orders", accountKey: key) }

        try await a.setMetadata(account: account, name: "orders", metadata: ["tier": "gold", "owner": "ops"], accountKey: key)
        _ = try await b.put(account: account, queue: "orders", body: [1], accountKey: key)
        _ = try await a.put(account: account, queue: "orders", body: [2], accountKey: key)
        let properties = try await b.properties(account: account, name: "orders", accountKey: key)
        #expect(properties.metadata == ["tier": "gold", "owner": "ops"] && properties.approximateMessageCount == 2)

        try await b.deleteQueue(account: account, name: "orders", accountKey: key)
        await expectError(.notFound) { try await a.deleteQueue(account: account, name: "orders", accountKey: key) }
        await expectError(.notFound) { try await a.put(account: account, queue: "orders", body: [3], accountKey: key) }
        await expectError(.notFound) { try await a.peek(account: account, queue: "orders", accountKey: key) }
        try await a.createQueue(account: account, name: "orders", accountKey: key)
        #expect(try await b.properties(account: account, name: "orders", accountKey: key).approximateMessageCount == 0)
        #expect(try await b.peek(account: account, queue: "orders", accountKey: key) == [])
        // Another account key (version) cannot read the account's queues.
        let otherKey = try Fixtures.accountKey(KeyReference(provider: "managed", keyID: "kek-1", keyVersion: 2, accountKeyVersion: 1))
        #expect(try await a.listQueues(account: account, accountKey: otherKey).queues == [])
    }

    /// A store remembers the message maps of queues it used (`RecentLookups`):
    /// after another store deletes the queue, every verb says the queue does
    /// not exist; after it creates the queue again, the first store's calls
    /// reach the new queue's messages; a stale pop receipt is still a stale
    /// pop receipt, not a missing queue.
    static func remembersMapsUntilTheQueueChanges(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        let key = try Fixtures.accountKey()
        let a = QueueStore(backend: one), b = QueueStore(backend: two)
        try await a.createQueue(account: account, name: "jobs", accountKey: key)
        let old = try await a.put(account: account, queue: "jobs", body: [1], accountKey: key)
        try await b.deleteQueue(account: account, name: "jobs", accountKey: key)
        let receipt = try #require(old.popReceipt)
        await expectError(.notFound, "queue 'jobs' does not exist") { try await a.put(account: account, queue: "jobs", body: [2], accountKey: key) }
        await expectError(.notFound, "queue 'jobs' does not exist") { try await a.peek(account: account, queue: "jobs", accountKey: key) }
        await expectError(.notFound, "queue 'jobs' does not exist") {
            try await a.get(account: account, queue: "jobs", visibilitySeconds: 30, accountKey: key)
        }
        await expectError(.notFound, "queue 'jobs' does not exist") {
            try await a.update(account: account, queue: "jobs", messageID: old.id, popReceipt: receipt, visibilitySeconds: 1, accountKey: key)
        }
        await expectError(.notFound, "queue 'jobs' does not exist") {
            try await a.delete(account: account, queue: "jobs", messageID: old.id, popReceipt: receipt, accountKey: key)
        }
        await expectError(.notFound, "queue 'jobs' does not exist") { try await a.clear(account: account, queue: "jobs", accountKey: key) }

        // Created again (a new map) while a remembers the one before: a's calls reach the new one.
        try await b.createQueue(account: account, name: "jobs", accountKey: key)
        #expect(try await a.peek(account: account, queue: "jobs", accountKey: key) == [])
        try await b.deleteQueue(account: account, name: "jobs", accountKey: key)
        try await b.createQueue(account: account, name: "jobs", accountKey: key)
        let new = try await a.put(account: account, queue: "jobs", body: [3], accountKey: key)
        #expect(try await b.peek(account: account, queue: "jobs", count: 32, accountKey: key).map(\.id) == [new.id])
        await expectError(.notFound, "not found with this pop receipt") {
            try await a.delete(account: account, queue: "jobs", messageID: old.id, popReceipt: receipt, accountKey: key)
        }
        let got = try await a.get(account: account, queue: "jobs", visibilitySeconds: 30, accountKey: key)
        #expect(got.map(\.id) == [new.id] && got.first?.body == [3])
        try await a.delete(account: account, queue: "jobs", messageID: new.id, popReceipt: try #require(got.first?.popReceipt), accountKey: key)
        #expect(try await b.properties(account: account, name: "jobs", accountKey: key).approximateMessageCount == 0)
    }

    /// Visibility, pop receipts, dequeue counts, delay, update, delete, clear, TTL expiry and the errors, on a clock the test moves.
    static func messages(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        let key = try Fixtures.accountKey()
        let clock = TestClock()
        let a = QueueStore(backend: one, clock: clock.read), b = QueueStore(backend: two, clock: clock.read)
        try await a.createQueue(account: account, name: "work", accountKey: key)
        var put: [QueuedMessage] = []
        for i in 0..<3 {
            put.append(try await a.put(account: account, queue: "work", body: Array("job \(i)".utf8), accountKey: key))
            clock.advance(seconds: 1)
        }
        #expect(put.allSatisfy { $0.popReceipt != nil && $0.dequeueCount == 0 && $0.expirationTime == $0.insertionTime + 7 * 86_400_000 })
        let peeked = try await b.peek(account: account, queue: "work", count: 32, accountKey: key)
        #expect(peeked.map(\.body) == put.map(\.body) && peeked.allSatisfy { $0.popReceipt == nil })

        let got = try await b.get(account: account, queue: "work", count: 2, visibilitySeconds: 30, accountKey: key)
        #expect(got.map(\.body) == [put[0].body, put[1].body])
        #expect(got.allSatisfy { $0.dequeueCount == 1 && $0.nextVisibleTime == clock.read() + 30_000 })
        #expect(try await a.peek(account: account, queue: "work", count: 32, accountKey: key).map(\.body) == [put[2].body])
        #expect(try await a.get(account: account, queue: "work", count: 32, visibilitySeconds: 30, accountKey: key).map(\.body) == [put[2].body])
        #expect(try await a.get(account: account, queue: "work", count: 32, visibilitySeconds: 30, accountKey: key) == [])

        // Not deleted in time: back after the timeout, with a new receipt and count 2; the old receipts are stale.
        clock.advance(seconds: 31)
        let again = try await a.get(account: account, queue: "work", count: 1, visibilitySeconds: 60, accountKey: key)
        #expect(again.map(\.id) == [got[0].id] && again[0].dequeueCount == 2 && again[0].popReceipt != got[0].popReceipt)
        await expectError(.notFound, "pop receipt") {
            try await b.delete(account: account, queue: "work", messageID: got[0].id, popReceipt: got[0].popReceipt!, accountKey: key)
        }
        // A receipt with the right time but another secret: refused as not this message's receipt.
        let forged = String(again[0].popReceipt!.prefix(32)) + String(repeating: "0", count: 32)
        await expectError(.conditionFailed, "pop receipt does not match") {
            try await b.delete(account: account, queue: "work", messageID: again[0].id, popReceipt: forged, accountKey: key)
        }
        await expectError(.invalidArgument, "pop receipt") {
            try await b.delete(account: account, queue: "work", messageID: again[0].id, popReceipt: "nonsense", accountKey: key)
        }
        // Update: new body and visible now, a new receipt; the one it replaced is stale.
        let updated = try await b.update(account: account, queue: "work", messageID: again[0].id, popReceipt: again[0].popReceipt!,
                                         visibilitySeconds: 0, body: Array("job 0 v2".utf8), accountKey: key)
        #expect(updated.popReceipt != again[0].popReceipt && updated.dequeueCount == 2 && updated.nextVisibleTime == clock.read())
        await expectError(.notFound) {
            try await a.update(account: account, queue: "work", messageID: again[0].id, popReceipt: again[0].popReceipt!, visibilitySeconds: 5, accountKey: key)
        }
        let peekedNow = try await a.peek(account: account, queue: "work", count: 32, accountKey: key)
        #expect(peekedNow.contains { $0.id == updated.id && $0.body == Array("job 0 v2".utf8) })
        try await a.delete(account: account, queue: "work", messageID: updated.id, popReceipt: updated.popReceipt!, accountKey: key)
        #expect(try await b.peek(account: account, queue: "work", count: 32, accountKey: key).map(\.id) == [got[1].id, put[2].id])
        // A message can be deleted with the receipt its put returned while nobody received it.
        let fresh = try await a.put(account: account, queue: "work", body: [], delaySeconds: 10, accountKey: key)
        #expect(try await b.peek(account: account, queue: "work", count: 32, accountKey: key).count == 2)
        clock.advance(seconds: 10)
        #expect(try await b.peek(account: account, queue: "work", count: 32, accountKey: key).last?.id == fresh.id)
        try await b.delete(account: account, queue: "work", messageID: fresh.id, popReceipt: fresh.popReceipt!, accountKey: key)

        // TTL: expired messages are never returned, and are removed.
        let short = try await a.put(account: account, queue: "work", body: Array("short".utf8), timeToLive: .seconds(5), accountKey: key)
        let forever = try await a.put(account: account, queue: "work", body: Array("forever".utf8), timeToLive: .never, accountKey: key)
        #expect(short.expirationTime == short.insertionTime + 5000 && forever.expirationTime == nil)
        #expect(try await a.properties(account: account, name: "work", accountKey: key).approximateMessageCount == 4)
        clock.advance(seconds: 6)
        #expect(try await b.peek(account: account, queue: "work", count: 32, accountKey: key).map(\.id) == [got[1].id, put[2].id, forever.id])
        #expect(try await a.properties(account: account, name: "work", accountKey: key).approximateMessageCount == 3)
        await expectError(.notFound) {
            try await a.delete(account: account, queue: "work", messageID: short.id, popReceipt: short.popReceipt!, accountKey: key)
        }

        // Limits.
        await expectError(.invalidArgument, "64 KiB") {
            try await a.put(account: account, queue: "work", body: [UInt8](repeating: 0, count: 65_537), accountKey: key)
        }
        _ = try await a.put(account: account, queue: "work", body: [UInt8](repeating: 7, count: 65_536), accountKey: key)
        await expectError(.invalidArgument, "time to live") { try await a.put(account: account, queue: "work", body: [], timeToLive: .seconds(7 * 86_400 + 1), accountKey: key) }
        await expectError(.invalidArgument, "time to live") { try await a.put(account: account, queue: "work", body: [], timeToLive: .seconds(0), accountKey: key) }
        await expectError(.invalidArgument, "delay") { try await a.put(account: account, queue: "work", body: [], timeToLive: .seconds(10), delaySeconds: 10, accountKey: key) }
        await expectError(.invalidArgument, "visibility timeout") { try await a.get(account: account, queue: "work", visibilitySeconds: 0, accountKey: key) }
        await expectError(.invalidArgument, "1-32") { try await a.get(account: account, queue: "work", count: 33, visibilitySeconds: 1, accountKey: key) }
        await expectError(.invalidArgument, "1-32") { try await a.peek(account: account, queue: "work", count: 0, accountKey: key) }

        try await b.clear(account: account, queue: "work", accountKey: key)
        #expect(try await a.peek(account: account, queue: "work", count: 32, accountKey: key) == [])
        #expect(try await a.properties(account: account, name: "work", accountKey: key).approximateMessageCount == 0)
    }

    /// Consumers on two connections drain one queue at once: every message
    /// is handed out exactly once (the visibility timeout outlasts the test).
    static func concurrentConsumers(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        let key = try Fixtures.accountKey()
        let stores = [QueueStore(backend: one), QueueStore(backend: two)]
        try await stores[0].createQueue(account: account, name: "drain", accountKey: key)
        let total = 300
        var ids: Set<String> = []
        for i in 0..<total { ids.insert(try await stores[i % 2].put(account: account, queue: "drain", body: Array("m\(i)".utf8), accountKey: key).id) }
        let received = try await withThrowingTaskGroup(of: [QueuedMessage].self) { group in
            for consumer in 0..<8 {
                group.addTask {
                    let store = stores[consumer % 2]
                    var mine: [QueuedMessage] = [], empty = 0
                    while empty < 3 {
                        let batch = try await store.get(account: account, queue: "drain", count: 1 + consumer % 5, visibilitySeconds: 600, accountKey: key)
                        empty = batch.isEmpty ? empty + 1 : 0
                        mine += batch
                        for message in batch where consumer % 2 == 0 {
                            try await store.delete(account: account, queue: "drain", messageID: message.id, popReceipt: message.popReceipt!, accountKey: key)
                        }
                    }
                    return mine
                }
            }
            var all: [QueuedMessage] = []
            for try await batch in group { all += batch }
            return all
        }
        #expect(received.count == total, "received \(received.count) of \(total)")
        #expect(Set(received.map(\.id)) == ids)
        #expect(received.allSatisfy { $0.dequeueCount == 1 })
    }
}

/// The queue engine on the local backend (`RadosBackendTests` runs the same bodies on RADOS).
@Suite struct QueueStoreTests {
    static let bodies: [(String, @Sendable (any StorageBackend, any StorageBackend) async throws -> Void)] = [
        ("queues", QueueStoreContract.queues),
        ("messages", QueueStoreContract.messages),
        ("concurrentConsumers", QueueStoreContract.concurrentConsumers),
        ("remembersMapsUntilTheQueueChanges", QueueStoreContract.remembersMapsUntilTheQueueChanges),
    ]

    @Test(arguments: bodies.map(\.0))
    func contract(_ body: String) async throws {
        try await RecordMapFactory.local.run(body, of: Self.bodies)
    }

    /// Bodies, queue names and metadata never reach the files in clear.
    @Test func nothingInClearOnDisk() async throws {
        let key = try Fixtures.accountKey()
        let dir = TempDirectory()
        defer { dir.remove() }
        let store = QueueStore(backend: try LocalBackend(directory: dir.path))
        let markers = ["acct-yak-1181", "queue-tapir-2291", "meta-gecko-3391", "body-ibis-4481"]
        try await store.createQueue(account: markers[0], name: markers[1], metadata: ["note": markers[2]], accountKey: key)
        for _ in 0..<20 { _ = try await store.put(account: markers[0], queue: markers[1], body: Array((markers[3] + " ").utf8), accountKey: key) }
        let got = try await store.get(account: markers[0], queue: markers[1], count: 5, visibilitySeconds: 30, accountKey: key)
        let files = dir.allFiles()
        #expect(files.contains { $0.hasSuffix(".sqlite") })
        for marker in markers + got.map { $0.popReceipt!.suffix(32).description } {
            for file in files {
                #expect(!file.contains(marker), "path \(file) shows \(marker)")
                #expect(!dir.contents(file).contains(subsequence: Array(marker.utf8)), "\(file) contains \(marker)")
            }
        }
        #expect(try await store.peek(account: markers[0], queue: markers[1], count: 1, accountKey: key).first?.body == Array((markers[3] + " ").utf8))
    }
}
