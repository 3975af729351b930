import AtRestMessaging
import AtRestStatus
import AtRestTesting
import AtRestWire
import Foundation
import Synchronization
import Testing

/// A worker SIGKILLed while writers send batches of 100 operations, each
/// writer to partitions of its own: first 100 inserts, then, once those are
/// acknowledged, 100 mixed operations on the same partition (deletes,
/// replaces, merges, inserts). Afterwards every partition is in one of the
/// states a whole number of its batches gives (none, the inserts, or the
/// inserts and the mixed batch), never between, and every acknowledged
/// batch is there.
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
        func generation(_ n: Int64) -> EntityProperty { EntityProperty(name: "Gen", type: EntityProperty.Kind.int32.rawValue, intValue: n) }
        func operation(_ kind: EntityOperation.Kind, _ partition: String, _ row: Int, _ properties: [EntityProperty], ifMatch: String = "") -> EntityOperation {
            EntityOperation(kind: kind.rawValue, entity: Entity(partitionKey: partition, rowKey: "r\(row)", properties: properties), ifMatch: ifMatch)
        }
        let load = Task {
            await withTaskGroup(of: Void.self) { group in
                for writer in 0..<6 {
                    group.addTask {
                        var i = 0
                        while !seen.stop.load(ordering: .relaxed) {
                            i += 1
                            let partition = "w\(writer)-b\(i)"
                            let inserts = (0..<100).map { operation(.insert, partition, $0, [filler, generation(1)]) }
                            // r0-19 deleted, r20-39 replaced, r40-59 merged, r100-139 inserted; r60-99 kept.
                            let mixed = (0..<20).map { operation(.delete, partition, $0, [], ifMatch: "*") }
                                + (20..<40).map { operation(.replace, partition, $0, [generation(2)], ifMatch: "*") }
                                + (40..<60).map { operation(.merge, partition, $0, [generation(2)], ifMatch: "*") }
                                + (100..<140).map { operation(.insert, partition, $0, [generation(2)]) }
                            for (step, operations) in [inserts, mixed].enumerated() {
                                let batch = "\(partition)#\(step)"
                                seen.sent.withLock { _ = $0.insert(batch) }
                                do {
                                    _ = try await queueCall(c, TableMethod.executeBatch, EntityBatchRequest(table: "ledger", operations: operations), metadata)
                                    seen.acknowledged.withLock { _ = $0.insert(batch) }
                                } catch let status as RPCStatus where [.unavailable, .deadlineExceeded].contains(status.code) {
                                    break  // the next batch of this partition needs this one's outcome
                                } catch {
                                    seen.unexpected.withLock { $0.append("\(error)") }
                                    break
                                }
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
        var rows: [String: [String: Int64]] = [:], token = ""  // partition → RowKey → Gen
        repeat {
            let page = try await queueCall(c, TableMethod.queryEntities, QueryEntitiesRequest(table: "ledger", select: ["Gen"], continuation: token), metadata)
            for entity in page.entities { rows[entity.partitionKey, default: [:]][entity.rowKey] = entity.properties.first { $0.name == "Gen" }?.intValue ?? -1 }
            token = page.continuation
        } while !token.isEmpty
        // The states a whole number of batches gives: the inserts alone, or the mixed batch applied on them.
        let inserted = Dictionary(uniqueKeysWithValues: (0..<100).map { ("r\($0)", Int64(1)) })
        var mixedOn = inserted
        for row in 0..<20 { mixedOn["r\(row)"] = nil }
        for row in 20..<60 { mixedOn["r\(row)"] = 2 }
        for row in 100..<140 { mixedOn["r\(row)"] = 2 }
        let stateOf = rows.mapValues { $0 == inserted ? 1 : $0 == mixedOn ? 2 : 0 }
        #expect(inFlightAtKill > 0, "the victim held no calls when it was killed")
        #expect(acknowledged.count > beforeKill, "nothing was acknowledged after the kill")
        #expect(stateOf.filter { $0.value == 0 }.isEmpty, "partitions between batches: \(stateOf.filter { $0.value == 0 }.keys.sorted().prefix(5))")
        for batch in acknowledged {
            let parts = batch.split(separator: "#"), partition = String(parts[0]), step = Int(parts[1])!
            #expect((stateOf[partition] ?? -1) >= step + 1, "acknowledged batch \(batch) is not there (state \(stateOf[partition] ?? -1))")
        }
        #expect(Set(rows.keys).isSubset(of: Set(sent.map { String($0.split(separator: "#")[0]) })))
        #expect(stateOf.filter { $0.value == 2 }.allSatisfy { sent.contains("\($0.key)#1") })
        #expect(seen.unexpected.withLock { $0 }.isEmpty, "unexpected errors: \(seen.unexpected.withLock { $0.prefix(5) })")
        let mixedWhole = stateOf.filter { $0.value == 2 }.count
        #expect(mixedWhole > 0, "no mixed batch was applied")
        print("tables under worker SIGKILL: \(acknowledged.count) batches acknowledged (\(beforeKill) before the kill), \(rows.count) partitions stored (\(mixedWhole) with their mixed batch), \(sent.count) batches sent, victim held \(inFlightAtKill) calls")
    }
}
