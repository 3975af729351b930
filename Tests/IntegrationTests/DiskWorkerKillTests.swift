import AtRestMessaging
import AtRestStatus
import AtRestTesting
import AtRestWire
import Foundation
import Synchronization
import Testing

/// A worker SIGKILLed while writers rewrite their own pages of one disk
/// (sub-chunk writes: read-modify-write at both ends): every acknowledged
/// write is there afterwards (each page holds the last acknowledged write
/// of its writer or a later one that was sent), no page is mixed or fails
/// authentication, and the pages next to each writer's stay zeros.
/// PutPages is idempotent, so the broker re-runs the victim's calls on the
/// survivor and the client retries UNAVAILABLE.
@Suite(.serialized) struct DiskWorkerKillTests {
    final class Writers: Sendable {
        /// Per writer: the last sequence number acknowledged and the last one sent.
        let acknowledged = Mutex<[UInt32]>(Array(repeating: 0, count: DiskWorkerKillTests.writers))
        let sent = Mutex<[UInt32]>(Array(repeating: 0, count: DiskWorkerKillTests.writers))
        let unexpected = Mutex<[String]>([])
        let stop = Atomic<Bool>(false)
    }

    static let writers = 6
    /// Writer w owns [w × 64 KiB + 512, + 16 KiB): not chunk-aligned at either end.
    static let span = 16 << 10
    static func offset(_ writer: Int) -> UInt64 { UInt64(writer) * 65_536 + 512 }

    /// A write's bytes: its sequence number, little-endian, over and over.
    static func bytes(_ sequence: UInt32) -> [UInt8] {
        (0..<span / 4).flatMap { _ in withUnsafeBytes(of: sequence.littleEndian, Array.init) }
    }

    @Test(arguments: StorageUnderTest.allCases)
    func workerKilledUnderPageWritesLosesNoAcknowledgedWrite(storage: StorageUnderTest) async throws {
        try await ClusterOnStorage.with(storage, LocalCluster.deployClusterOptions()) { on in try await killUnderLoad(on.cluster) }
    }

    func killUnderLoad(_ cluster: LocalCluster) async throws {
        let victim = try await cluster.victimAndSurvivor()
        let metadata = try await cluster.bootstrap(accounts: ["acct-k"])["acct-k"]!
        let c = cluster.client
        _ = try await c.call(DiskMethod.createDisk.name, request: CreateDiskRequest(disk: "vm-disk", size: 1 << 20), as: DiskProperties.self, metadata: metadata)
        let state = Writers()
        let load = Task {
            await withTaskGroup(of: Void.self) { group in
                for writer in 0..<Self.writers {
                    group.addTask {
                        var sequence: UInt32 = 0
                        while !state.stop.load(ordering: .relaxed) {
                            sequence += 1
                            state.sent.withLock { $0[writer] = sequence }
                            do {
                                _ = try await c.call(DiskMethod.putPages.name, request: PutPagesRequest(disk: "vm-disk", offset: Self.offset(writer)),
                                                     as: EmptyMessage.self, parts: [PayloadPart(Self.bytes(sequence))], metadata: metadata,
                                                     idempotent: true)
                                state.acknowledged.withLock { $0[writer] = sequence }
                            } catch let status as RPCStatus where [.unavailable, .deadlineExceeded].contains(status.code) {
                            } catch {
                                state.unexpected.withLock { $0.append("\(error)") }
                            }
                        }
                    }
                }
            }
        }
        // Kill once the victim has served writes and holds calls.
        let inFlightAtKill = try await cluster.waitUntilVictimIsBusy(DiskMethod.putPages.name, served: 20)
        let beforeKill = state.acknowledged.withLock { $0.reduce(0) { $0 + Int($1) } }
        victim.kill()
        try await cluster.carryOnAfterKill(beforeKill: beforeKill) { state.acknowledged.withLock { $0.reduce(0) { $0 + Int($1) } } }
        state.stop.store(true, ordering: .relaxed)
        await load.value

        let acknowledged = state.acknowledged.withLock { $0 }, sent = state.sent.withLock { $0 }
        let disk = try await c.call(DiskMethod.getPages.name, request: DiskRangeRequest(disk: "vm-disk", offset: 0, length: UInt64(Self.writers) * 65_536),
                                    as: GetPagesResponse.self, metadata: metadata).parts.joined()
        for writer in 0..<Self.writers {
            let start = Int(Self.offset(writer))
            #expect(disk[start - 512..<start].allSatisfy { $0 == 0 } && disk[start + Self.span..<start + Self.span + 512].allSatisfy { $0 == 0 },
                    "writer \(writer): a neighbouring page changed")
            for page in stride(from: start, to: start + Self.span, by: 512) {
                let words = stride(from: page, to: page + 512, by: 4).map { at in
                    UInt32(disk[at]) | UInt32(disk[at + 1]) << 8 | UInt32(disk[at + 2]) << 16 | UInt32(disk[at + 3]) << 24
                }
                let value = words[0]
                #expect(Set(words).count == 1, "writer \(writer): page at \(page) is mixed")
                #expect((acknowledged[writer]...sent[writer]).contains(value),
                        "writer \(writer): page at \(page) holds write \(value); acknowledged \(acknowledged[writer]), sent \(sent[writer])")
            }
        }
        let total = acknowledged.reduce(0) { $0 + Int($1) }
        #expect(inFlightAtKill > 0, "the victim held no calls when it was killed")
        #expect(total > beforeKill, "nothing was acknowledged after the kill")
        #expect(state.unexpected.withLock { $0 }.isEmpty, "unexpected errors: \(state.unexpected.withLock { $0.prefix(5) })")
        print("disk under worker SIGKILL: \(total) writes acknowledged (\(beforeKill) before the kill), victim held \(inFlightAtKill) calls")
    }
}
