import Foundation

/// A throwaway Ceph cluster from `scripts/ceph-dev.sh` (of the source tree
/// this module was built from) in a fresh temp directory: for the RADOS tests
/// and `atrest-bench rados --start-dev`. docs/OPERATIONS.md "Ceph".
public struct CephDevScript: Sendable {
    /// The OSDs' object store (`--store`).
    public enum Store: String, Sendable { case memstore, bluestore }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/ceph-dev.sh").path

    public let directory: String
    public let pool: String
    public let osds: Int
    public let store: Store
    /// Stops the daemons and removes the directory if the test process dies before `stop`.
    let cleanup: ExitCleanup
    public var confFile: String { directory + "/ceph.conf" }
    /// client.atrest's keyring (mon 'allow r', osd 'allow rw pool=POOL').
    public var keyringFile: String { directory + "/client.atrest.keyring" }
    public var adminKeyringFile: String { directory + "/client.admin.keyring" }

    /// Starts the cluster and returns once client.atrest can write (the script's
    /// ready line). If the process dies before `stop` (a killed test), an
    /// `ExitCleanup` stops the daemons and removes the directory.
    /// `host`: the address the monitor and OSDs bind (127.0.0.1; a veth end
    /// for clients in other network namespaces).
    public static func start(pool: String = "atrest", osds: Int = 1, store: Store = .memstore, tag: String = "ceph",
                             host: String = "127.0.0.1") throws -> CephDevScript {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("atrest-\(tag)-\(UUID().uuidString.prefix(8))").path
        let cleanup = try ExitCleanup([[path, "stop", directory], ["rm", "-rf", directory]])
        let (status, output) = try run(["start", directory, "--pool", pool, "--osds", String(osds), "--store", store.rawValue, "--host", host])
        guard status == 0, output.contains("ceph-dev ready conf=\(directory)/ceph.conf user=client.atrest pool=\(pool)") else {
            _ = try? run(["stop", directory])
            cleanup.dismiss()
            throw Failure(description: "scripts/ceph-dev.sh start failed (exit \(status)):\n\(output)")
        }
        return CephDevScript(directory: directory, pool: pool, osds: osds, store: store, cleanup: cleanup)
    }

    /// This cluster as a `LocalCluster`'s storage (client.atrest; its pool
    /// first, then `extraPools`).
    public func clusterStorage(extraPools: [String] = []) -> LocalClusterOptions.Storage {
        .rados(conf: confFile, user: "client.atrest", keyring: keyringFile, pools: [pool] + extraPools)
    }

    /// Stops the daemons (waiting until they are gone) and removes the directory.
    public func stop() throws {
        let (status, output) = try Self.run(["stop", directory])
        guard status == 0 else { throw Failure(description: "scripts/ceph-dev.sh stop failed (exit \(status)):\n\(output)") }
        try? FileManager.default.removeItem(atPath: directory)
        cleanup.dismiss()
    }

    /// Runs `executable` (the script by default) to its end; its exit status and its stdout and stderr together.
    public static func run(_ arguments: [String], executable: String = path, environment: [String: String]? = nil) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }
}
