import AtRestMessaging
import AtRestStatus
import AtRestTesting
import AtRestWire
import Foundation
import Synchronization
import Testing

/// A worker SIGKILLed while writers send batches of 100 inserts, each batch
/// to a partition of its own: every partition afterwards holds all 100
/// entities of its batch or none, and every acknowledged batch all 100.
@Suite(.serialized) struct TableWorkerKillTests {
    final class Seen: Sendable {
        let acknowledged = Mutex<Set<String>>([])
        let sent = Mutex<Set<String>>([])
        let unexpected = Mutex<[String]>([])
        let stop = Atomic<Bool>(false)
    }

    @Test(arguments: StorageUnderTest.allCases)
    func workerKilledMidBatchLeavesEachBatchWholeOrAbsent(storage: StorageUnderTest) async throws {
        try await ClusterOnStorage.with(storage, LocalCluster.deployClusterOptions()) { on in try await killUnderBatches(on.cluster) }
    }

    func killUnderBatches(_ cluster: LocalCluster) async throws {
        let victim = try await cluster.victimAndSurvivor()
        let metadata = try await cluster.bootstrap(accounts: ["acct-b"])["acct-b"]!
        let c = cluster.client
        _ = try await queueCall(c, TableMethod.createTable, TableRequest(table: "ledger"), metadata)
        let seen = Seen()
        let filler = EntityProperty(name: "Pad", type: EntityProperty.Kind.binary.rawValue, bytesValue: [UInt8](repeating: 0x5A, count: 8 << 10))
        let load = Task {
            await withTaskGroup(of: Void.self) { group in
                for writer in 0..<6 {
                    group.addTask {
                        var i = 0
                        while !seen.stop.load(ordering: .relaxed) {
                            i += 1
                            let partition = "w\(writer)-b\(i)"
                            let operations = (0..<100).map {
                                EntityOperation(kind: EntityOperation.Kind.insert.rawValue,
                                                entity: Entity(partitionKey: partition, rowKey: "r\($0)", properties: [filler]))
                            }
                            seen.sent.withLock { _ = $0.insert(partition) }
                            do {
                                _ = try await queueCall(c, TableMethod.executeBatch, EntityBatchRequest(table: "ledger", operations: operations), metadata)
                                seen.acknowledged.withLock { _ = $0.insert(partition) }
                            } catch let status as RPCStatus where [.unavailable, .deadlineExceeded].contains(status.code) {
                            } catch {
                                seen.unexpected.withLock { $0.append("\(error)") }
                            }
                        }
                    }
                }
            }
        }
        // Kill once the victim has served batches and holds some.
        let inFlightAtKill = try await cluster.waitUntilVictimIsBusy(TableMethod.executeBatch.name, served: 5)
        let beforeKill = seen.acknowledged.withLock { $0.count }
        victim.kill()
        try await cluster.carryOnAfterKill(beforeKill: beforeKill) { seen.acknowledged.withLock { $0.count } }
        seen.stop.store(true, ordering: .relaxed)
        await load.value

        let acknowledged = seen.acknowledged.withLock { $0 }, sent = seen.sent.withLock { $0 }
        var counts: [String: Int] = [:], token = ""
        repeat {
            let page = try await queueCall(c, TableMethod.queryEntities, QueryEntitiesRequest(table: "ledger", select: ["Nothing"], continuation: token), metadata)
            for entity in page.entities { counts[entity.partitionKey, default: 0] += 1 }
            token = page.continuation
        } while !token.isEmpty
        #expect(inFlightAtKill > 0, "the victim held no calls when it was killed")
        #expect(acknowledged.count > beforeKill, "nothing was acknowledged after the kill")
        #expect(counts.filter { $0.value != 100 }.isEmpty, "partial batches: \(counts.filter { $0.value != 100 })")
        #expect(acknowledged.allSatisfy { counts[$0] == 100 }, "acknowledged batches missing: \(acknowledged.filter { counts[$0] != 100 }.prefix(5))")
        #expect(Set(counts.keys).isSubset(of: sent))
        #expect(seen.unexpected.withLock { $0 }.isEmpty, "unexpected errors: \(seen.unexpected.withLock { $0.prefix(5) })")
        print("tables under worker SIGKILL: \(acknowledged.count) batches acknowledged (\(beforeKill) before the kill), \(counts.count) stored whole, \(sent.count - counts.count) sent and absent, victim held \(inFlightAtKill) calls")
    }
}
