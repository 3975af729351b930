import AtRestClient
import AtRestTesting
import Foundation

/// The bound of `e2e --backend rados` (docs/BENCHMARKS.md): AtRest's own
/// path (client, front door, workers, crypto) measured in the same run on a
/// store that costs next to nothing (the local backend on tmpfs), and what
/// that path and librados reach together when they share the cores. On this
/// machine the OSDs and AtRest's processes run on the same two cores: an
/// object that costs AtRest 1/X and RADOS 1/C of the machine cannot go
/// faster than X·C/(X+C), so the ratio to librados cannot pass X/(X+C).
struct RadosBound {
    /// ops/s of AtRest alone per case tag ("4k", "1m", "64m").
    var alone: [String: Double] = [:]

    /// Measures the cases in `selected` with `workers` workers on a cluster under /dev/shm.
    static func measure(selected: Set<String>, workers: Int, callers: Int, seconds: Double, largeCount: Int,
                        options: BlobTransferOptions, small: [UInt8], mid: [UInt8], large: [UInt8]) async throws -> RadosBound {
        let root = LocalCluster.temporaryDirectory(under: "/dev/shm", "e2e-bound")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (cluster, client) = try await BenchCluster.start(workers: workers, root: root)
        defer { cluster.stop() }
        let blobs = BlobClient(client.base, account: client.account, options: options)
        var bound = RadosBound()
        if selected.contains("4k") {
            bound.alone["4k"] = try await Latency.measure(seconds: seconds, callers: callers) { i in
                _ = try await blobs.put("bench", "s\(i % 256)", data: small)
            }.opsPerSecond
        }
        if selected.contains("1m") {
            bound.alone["1m"] = try await Latency.measure(seconds: seconds, callers: callers) { i in
                _ = try await blobs.upload("bench", "m\(i % 16)", data: mid)
            }.opsPerSecond
        }
        if selected.contains("64m") {
            bound.alone["64m"] = try await Latency.measure(seconds: 0, count: largeCount, callers: 1) { _ in
                _ = try await blobs.upload("bench", "large", data: large)
            }.opsPerSecond
        }
        for (tag, label) in [("4k", "put 4 KiB, \(callers) callers"), ("1m", "put 1 MiB, \(callers) callers"), ("64m", "put 64 MiB")] {
            if let rate = bound.alone[tag] { print("bound: AtRest alone (local store on tmpfs) \(label): \(decimals(rate, 1)) ops/s") }
        }
        return bound
    }

    /// The highest ratio to librados' `ceiling` (ops/s) that case `tag` can
    /// reach on shared cores; nil when it was not measured.
    func ratio(_ tag: String, ceiling: Double) -> Double? {
        guard let alone = alone[tag], alone > 0, ceiling > 0 else { return nil }
        return alone / (alone + ceiling)
    }
}
