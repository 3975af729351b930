import AtRestMessaging
import AtRestStatus
import AtRestTesting
import AtRestWire
import Foundation
import Synchronization
import Testing

/// A worker SIGKILLed while producers put and consumers get and delete on
/// one queue: no acknowledged message is lost (each is delivered by a get,
/// or still there to get once visibility timeouts end), the queue stays usable.
@Suite(.serialized) struct QueueWorkerKillTests {
    final class Seen: Sendable {
        let acknowledged = Mutex<Set<String>>([])
        let consumed = Mutex<Set<String>>([])
        let unexpected = Mutex<[String]>([])
        let stop = Atomic<Bool>(false)

        /// UNAVAILABLE / DEADLINE_EXCEEDED are what a call on a killed worker may get; anything else is recorded.
        func attempt(_ body: () async throws -> Void) async {
            do { try await body() } catch let status as RPCStatus where [.unavailable, .deadlineExceeded, .notFound].contains(status.code) {
            } catch { unexpected.withLock { $0.append("\(error)") } }
        }
    }

    @Test(arguments: StorageUnderTest.allCases)
    func workerKilledUnderQueueLoadLosesNoAcknowledgedMessage(storage: StorageUnderTest) async throws {
        try await ClusterOnStorage.with(storage, LocalCluster.deployClusterOptions()) { on in try await killUnderLoad(on.cluster) }
    }

    func killUnderLoad(_ cluster: LocalCluster) async throws {
        let victim = try await cluster.victimAndSurvivor()
        let metadata = try await cluster.bootstrap(accounts: ["acct-k"])["acct-k"]!
        let c = cluster.client
        _ = try await queueCall(c, QueueMethod.createQueue, QueueRequest(queue: "jobs"), metadata)
        let seen = Seen()
        let load = Task {
            await withTaskGroup(of: Void.self) { group in
                for producer in 0..<4 {
                    group.addTask {
                        var i = 0
                        while !seen.stop.load(ordering: .relaxed) {
                            i += 1
                            await seen.attempt {
                                let put = try await queueCall(c, QueueMethod.putMessage, PutMessageRequest(queue: "jobs", body: Array("p\(producer)-\(i)".utf8)), metadata)
                                seen.acknowledged.withLock { _ = $0.insert(put.messageID) }
                            }
                        }
                    }
                }
                for _ in 0..<3 {
                    group.addTask {
                        while !seen.stop.load(ordering: .relaxed) {
                            await seen.attempt {
                                for message in try await queueCall(c, QueueMethod.getMessages, GetMessagesRequest(queue: "jobs", count: 8, visibilitySeconds: 2), metadata).messages {
                                    // Delivered once a get returned it: a delete whose reply died with the
                                    // victim (retried: NOT_FOUND) may have removed it already.
                                    seen.consumed.withLock { _ = $0.insert(message.messageID) }
                                    _ = try await queueCall(c, QueueMethod.deleteMessage, MessageRequest(queue: "jobs", messageID: message.messageID, popReceipt: message.popReceipt), metadata)
                                }
                            }
                        }
                    }
                }
            }
        }
        // Kill once the victim has served puts and holds calls.
        let inFlightAtKill = try await cluster.waitUntilVictimIsBusy(QueueMethod.putMessage.name, served: 20)
        let beforeKill = seen.acknowledged.withLock { $0.count }
        victim.kill()
        try await cluster.carryOnAfterKill(beforeKill: beforeKill) { seen.acknowledged.withLock { $0.count } }
        seen.stop.store(true, ordering: .relaxed)
        await load.value

        // Drain what is left (messages whose claim died with the victim come back after 2 s).
        var empty = 0
        while empty < 4 {
            let batch = try await queueCall(c, QueueMethod.getMessages, GetMessagesRequest(queue: "jobs", count: 32, visibilitySeconds: 30), metadata).messages
            for message in batch {
                _ = try await queueCall(c, QueueMethod.deleteMessage, MessageRequest(queue: "jobs", messageID: message.messageID, popReceipt: message.popReceipt), metadata)
                seen.consumed.withLock { _ = $0.insert(message.messageID) }
            }
            if batch.isEmpty { empty += 1; try await Task.sleep(for: .milliseconds(750)) } else { empty = 0 }
        }
        let acknowledged = seen.acknowledged.withLock { $0 }, consumed = seen.consumed.withLock { $0 }
        #expect(inFlightAtKill > 0, "the victim held no calls when it was killed")
        #expect(acknowledged.count > beforeKill, "nothing was acknowledged after the kill")
        #expect(acknowledged.subtracting(consumed).isEmpty, "acknowledged messages never delivered: \(acknowledged.subtracting(consumed).prefix(10))")
        #expect(seen.unexpected.withLock { $0 }.isEmpty, "unexpected errors: \(seen.unexpected.withLock { $0.prefix(5) })")
        #expect(try await queueCall(c, QueueMethod.getQueueProperties, QueueRequest(queue: "jobs"), metadata).approximateMessageCount == 0)
        print("queue under worker SIGKILL: \(acknowledged.count) acknowledged (\(beforeKill) before the kill), \(consumed.count) consumed, victim held \(inFlightAtKill) calls")
    }
}
