import AtRestMessaging
import AtRestTesting
import AtRestWire
import Foundation
import Synchronization
import Testing

/// Every copy encrypted, on disk: AtRest on a size-2 pool of two bluestore
/// OSDs. Blobs carrying a random 64-byte marker in their content, their
/// names and their metadata values leave no trace of it in either OSD's
/// block file, in plain, UTF-16 or hex (`ReplicaScan`, which
/// RadosReplicaTests shows finds what librados writes in clear). Then one
/// OSD stops while puts run: every acknowledged put reads back.
@Suite(.serialized) struct AtRestReplicaTests {
    @Test func replicasHoldNoPlaintextAndAcknowledgedPutsSurviveAnOSDStop() async throws {
        let ceph = try CephDevCluster.start(osds: 2, store: .bluestore)
        defer { try? ceph.stop() }
        var options = LocalCluster.Options(rootTag: "replicas", workers: 2)
        options.storage = ceph.clusterStorage()
        let cluster = try LocalCluster(options)
        defer { cluster.stop() }
        let (alice, _) = try await cluster.bootstrapUsers()
        let c = cluster.client
        let account = try await c.call(AccountMethod.create.name, request: AccountCreateRequest(accountID: "replicated"), as: AccountInfo.self, metadata: alice).message
        #expect(account.redundancy == 2 && account.pool == ceph.pool, "the pool's size is the account's redundancy")
        let m = alice.merging(["account": "replicated"]) { $1 }
        _ = try await c.call(BlobMethod.createContainer.name, request: ContainerRequest(container: "box"), as: EmptyMessage.self, metadata: m)

        let marker = RadosReplicaTests.marker()
        let text = String(decoding: marker, as: UTF8.self)
        for (i, size) in [4096, 70_000, 1 << 20].enumerated() {
            var data = [UInt8](repeating: UInt8(truncatingIfNeeded: 0x5a + i), count: size)
            data.replaceSubrange(size / 2..<size / 2 + marker.count, with: marker)
            _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "box", name: "n-\(text)-\(i)", metadata: ["note": text]),
                                 as: BlobProperties.self, payload: [data], metadata: m)
        }
        let files = try ReplicaScan.blockFiles(cephDirectory: ceph.directory)
        #expect(files.count == 2)
        let hits = try ReplicaScan.find(marker: marker, in: files)
        #expect(hits.isEmpty, "the marker is in a replica: \(hits.prefix(4))")

        // Puts under way while osd.1 stops: what was acknowledged reads back.
        let loop = RadosReplicaTests.WriteLoop()
        defer { loop.stop.store(true, ordering: .relaxed) }
        let writers = Task {
            await withTaskGroup(of: Void.self) { group in
                for writer in 0..<4 {
                    group.addTask {
                        var i = 0
                        while !loop.stop.load(ordering: .relaxed) {
                            let name = "ack-\(writer)-\(i)"
                            i += 1
                            do {
                                _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "box", name: name), as: BlobProperties.self,
                                                     payload: [RadosReplicaTests.payload(name)], metadata: m)
                                loop.acknowledged.withLock { $0.append(name) }
                            } catch {
                                try? await Task.sleep(for: .milliseconds(50))  // not acknowledged: may or may not be there
                            }
                        }
                    }
                }
            }
        }
        func count() -> Int { loop.acknowledged.withLock { $0.count } }
        while count() < 20 { try await Task.sleep(for: .milliseconds(20)) }
        try ceph.stopOSD(1)
        let atStop = count()
        let deadline = ContinuousClock.now + .seconds(60)
        while count() < atStop + 20, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        loop.stop.store(true, ordering: .relaxed)
        await writers.value
        let names = loop.acknowledged.withLock { $0 }
        #expect(names.count >= atStop + 20, "puts went on with one OSD stopped: \(names.count - atStop) after the stop")
        for name in names {
            let got = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "box", name: name), as: BlobGetResponse.self, metadata: m)
            #expect(got.payload.flatMap { $0 } == RadosReplicaTests.payload(name), "\(name)")
        }
        try ceph.startOSD(1)
    }
}
