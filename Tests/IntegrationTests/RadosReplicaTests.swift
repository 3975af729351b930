import AtRestTesting
import AtRestTestTraits
import Foundation
import Synchronization
import Testing
import AtRestRados

/// Replicas on disk, at the librados layer: a size-2 pool on two bluestore
/// OSDs (ceph-dev.sh --osds 2 --store bluestore). What librados writes in
/// clear is found in both OSDs' block files, which proves `ReplicaScan` sees
/// every copy (the AtRest-level test uses it to show sealed objects hold no
/// marker); with one OSD stopped under a write loop, every acknowledged write
/// reads back from the other.
@Suite(.serialized, .cephDevCluster(osds: 2, store: .bluestore)) struct RadosReplicaTests {
    let ceph: CephDevCluster
    let pool: RadosPool

    init() throws {
        ceph = try #require(CephDevCluster.current, "the suite's cluster did not start")
        // Generous: writes wait while the placement groups peer after an OSD stops or starts.
        pool = try RadosCluster(ceph.configuration(timeout: .seconds(60))).openPool(ceph.pool)
    }

    @Test func thePoolKeepsTwoCopiesAndBothHoldAPlainMarker() async throws {
        let sizes = try ceph.admin(["osd", "pool", "get", ceph.pool, "size"]) + ceph.admin(["osd", "pool", "get", ceph.pool, "min_size"])
        #expect(sizes.contains("size: 2") && sizes.contains("min_size: 1"), "\(sizes)")

        let marker = Self.marker()
        // Small (deferred through the RocksDB log), middling and large (written in place) objects.
        for (i, (size, at)) in [(4096, 0), (70_000, 1000), (1 << 20, (1 << 19) + 17)].enumerated() {
            var data = [UInt8](repeating: UInt8(truncatingIfNeeded: 0x5a + i), count: size)
            data.replaceSubrange(at..<at + marker.count, with: marker)
            try await pool.writeFull("marked-\(i)", data)
        }
        let files = try ReplicaScan.blockFiles(cephDirectory: ceph.directory)
        #expect(files.count == 2)
        // On a loaded machine the second OSD may join the placement groups
        // after the writes (they go active with one copy, min_size 1) and get
        // its copy by recovery: wait for it rather than for a fixed time.
        var hits = try ReplicaScan.find(marker: marker, in: files)
        let deadline = ContinuousClock.now + .seconds(90)
        while !files.allSatisfy({ file in hits.contains { $0.path == file && $0.encoding == .plain } }), ContinuousClock.now < deadline {
            try await Task.sleep(for: .seconds(1))
            hits = try ReplicaScan.find(marker: marker, in: files)
        }
        for file in files {
            #expect(hits.contains { $0.path == file && $0.encoding == .plain }, "no plain marker in \(file): \(hits)")
        }
        #expect(try ReplicaScan.find(marker: Self.marker(), in: files) == [], "a marker never written is nowhere")
    }

    @Test func everyAcknowledgedWriteReadsBackWithOneOSDStopped() async throws {
        let loop = WriteLoop()
        defer { loop.stop.store(true, ordering: .relaxed) }
        let (acks, acked) = AsyncStream<Int>.makeStream()
        let pool = self.pool
        let writers = Task {
            let failures = await withTaskGroup(of: [String].self) { group in
                for writer in 0..<8 {
                    group.addTask {
                        var failures: [String] = []
                        var i = 0
                        while !loop.stop.load(ordering: .relaxed) {
                            let name = "ack-\(writer)-\(i)"
                            do {
                                try await pool.writeFull(name, Self.payload(name))
                                acked.yield(loop.acknowledged.withLock { $0.append(name); return $0.count })
                            } catch {
                                failures.append("\(name): \(error)")
                            }
                            i += 1
                        }
                        return failures
                    }
                }
                return await group.reduce(into: []) { $0 += $1 }
            }
            acked.finish()
            return failures
        }
        var stoppedAt: Int?
        var restarted = false
        defer { if stoppedAt != nil && !restarted { try? ceph.startOSD(1) } }
        for await count in acks {
            if stoppedAt == nil, count >= 40 {
                try ceph.stopOSD(1)
                stoppedAt = loop.acknowledged.withLock { $0.count }
            }
            if let stoppedAt, count >= stoppedAt + 80 { loop.stop.store(true, ordering: .relaxed); break }
        }
        let failures = await writers.value
        #expect(failures == [], "writes failed while an OSD stopped")
        let osds = try ceph.admin(["osd", "dump"])
        #expect(osds.contains("\nosd.1 down "), "osd.1 is down while the writes are read back")

        let names = loop.acknowledged.withLock { $0 }
        #expect(names.count >= (stoppedAt ?? 0) + 80, "writes went on with one OSD")
        for name in names {
            let data = try await pool.read(name, length: 1 << 17)
            #expect(data == Self.payload(name), "\(name) reads back")
        }
        let running = #expect(throws: CephDevError.self) { try ceph.startOSD(0) }
        #expect(running?.message.contains("osd.0 (pid") == true && running?.message.contains("already running") == true, "\(String(describing: running))")
        let unknown = #expect(throws: CephDevError.self) { try ceph.stopOSD(7) }
        #expect(unknown?.message.contains("no osd.7 recorded") == true, "\(String(describing: unknown))")
        try ceph.startOSD(1)
        restarted = true
        #expect(try await pool.read(names[0], length: 1 << 17) == Self.payload(names[0]))
    }

    /// The state the write loop's tasks share.
    final class WriteLoop: Sendable {
        let acknowledged = Mutex<[String]>([])
        let stop = Atomic<Bool>(false)
    }

    /// 64 random letters and digits (so its UTF-16LE form is what an application would write).
    static func marker() -> [UInt8] {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)
        return (0..<64).map { _ in alphabet.randomElement()! }
    }

    /// 16 to 64 KiB derived from the name, so a read-back compares against what was written.
    static func payload(_ name: String) -> [UInt8] {
        var hasher = Hasher()
        hasher.combine(name)
        let seed = UInt64(bitPattern: Int64(hasher.finalize()))
        let count = 16_384 + Int(seed % 49_152)
        return (0..<count).map { UInt8(truncatingIfNeeded: (seed &>> UInt64($0 % 56)) &+ UInt64($0)) }
    }
}
