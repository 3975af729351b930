import AtRestRados
import AtRestTesting
import Foundation
import Testing

/// The storage a cluster test runs on: the same test bodies run on the local
/// directory and on a throwaway Ceph cluster (`scripts/ceph-dev.sh`, memstore).
enum StorageUnderTest: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case local, rados
    var testDescription: String { rawValue }
}

/// A started cluster on its storage, and the Ceph cluster under it (rados).
struct ClusterOnStorage {
    let cluster: LocalCluster
    let ceph: CephDevCluster?

    /// Starts a Ceph cluster for `storage` rados (with `pools` beyond the
    /// default one: name and size), then the AtRest cluster on it; runs
    /// `body`; stops both (also when it throws).
    static func with(_ storage: StorageUnderTest, _ options: LocalCluster.Options, extraPools: [(name: String, size: Int)] = [],
                     _ body: (ClusterOnStorage) async throws -> Void) async throws {
        var options = options
        var ceph: CephDevCluster?
        if storage == .rados {
            let started = try CephDevCluster.start()
            ceph = started
            for pool in extraPools {
                try started.admin(["osd", "pool", "create", pool.name, "8"])
                try started.admin(["osd", "pool", "set", pool.name, "size", "\(pool.size)", "--yes-i-really-mean-it"])
                try started.admin(["osd", "pool", "set", pool.name, "min_size", "1"])
                try started.admin(["auth", "caps", "client.atrest", "mon", "allow r",
                                   "osd", ([started.pool] + extraPools.map(\.name)).map { "allow rw pool=\($0)" }.joined(separator: ", ")])
            }
            options.storage = started.clusterStorage(extraPools: extraPools.map(\.name))
        }
        defer { try? ceph?.stop() }
        let cluster = try LocalCluster(options)
        defer { cluster.stop() }
        try await body(ClusterOnStorage(cluster: cluster, ceph: ceph))
    }

    /// A pool of the Ceph cluster, opened as client.atrest.
    func pool(_ name: String? = nil) throws -> RadosPool {
        let ceph = try #require(ceph)
        return try RadosCluster(ceph.configuration).openPool(name ?? ceph.pool)
    }

    /// Every stored object, named as the storage names it: the files the
    /// services wrote (data directories, logs and the identity and vault
    /// state aside) and, on rados, every RADOS object of every pool given
    /// (its data, then its omap keys and values).
    func storedObjects(pools: [String] = []) async throws -> [(name: String, bytes: [UInt8])] {
        var objects: [(name: String, bytes: [UInt8])] = []
        for file in cluster.allFiles() where !file.hasSuffix(".log") && !file.contains("/identity/") && !file.contains("/vault/") {
            objects.append((file, [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))))
        }
        guard let ceph else { return objects }
        for name in pools.isEmpty ? [ceph.pool] : pools {
            let pool = try pool(name)
            for object in try await pool.objectNames() {
                let size = try pool.stat(object).size
                var bytes = size == 0 ? [] : try await pool.read(object, length: Int(size))
                // Record maps (queues) keep their records in the omap: keys and values count as stored bytes.
                var after: String?
                repeat {
                    let page = try pool.omapPage(object, after: after)
                    for entry in page.entries { bytes += Array(entry.key.utf8) + entry.value }
                    after = page.more ? page.entries.last?.key : nil
                } while after != nil
                objects.append(("rados:\(name)/\(object)", bytes))
            }
        }
        return objects
    }

    /// Names of the stored objects holding an object version (`o-` files or RADOS heads).
    func objectVersionNames() async throws -> Set<String> {
        if let ceph {
            return Set(try await pool(ceph.pool).objectNames().filter { $0.split(separator: "/").last?.hasPrefix("o-") == true })
        }
        return Set(cluster.allFiles().filter { $0.contains("/objects/") && $0.split(separator: "/").last!.hasPrefix("o-") })
    }

    /// The account registry's records: files of the first front door's
    /// registry store, or RADOS objects of the default pool.
    func registryRecords() async throws -> [String] {
        if let ceph {
            return try await pool(ceph.pool).objectNames().filter { $0.hasPrefix("registry/r-") }.sorted()
        }
        let records = "\(cluster.root)/frontdoor/registry-store/registry"
        return try FileManager.default.contentsOfDirectory(atPath: records).filter { $0.hasPrefix("r-") }.map { "\(records)/\($0)" }.sorted()
    }

    /// Flips one byte `fromEnd` bytes before the end of a stored object
    /// (a file path, or a RADOS object of the default pool).
    func tamper(_ name: String, fromEnd: Int = 20) async throws {
        if let ceph {
            let pool = try pool(ceph.pool)
            var bytes = try await pool.read(name, length: Int(try pool.stat(name).size))
            bytes[bytes.count - fromEnd] ^= 0x01
            try await pool.writeFull(name, bytes)
        } else {
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: name)))
            bytes[bytes.count - fromEnd] ^= 0x01
            try Data(bytes).write(to: URL(fileURLWithPath: name), options: .atomic)
        }
    }
}
