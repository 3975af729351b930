import AtRestClient
import AtRestIdentity
import AtRestTesting
import AtRestWire
import Foundation
import Glibc

/// The real services for the end-to-end benches: a `LocalCluster` started
/// from the directory of the `atrest-bench` executable itself (so a release
/// bench measures release services), with `workers` crypto workers of credit
/// 8, plus one user owning account `bench` with container `bench`.
enum BenchCluster {
    /// The bench user (tenant `t1`) and its secret, for a process that logs in itself (`atrest-bench nbd`'s gateway).
    static let tenant = "t1", user = "bench", secret = "bench-secret-123456"

    /// The services' directory: `ATREST_BIN_DIR` when set (as the tests take it), else the directory holding the
    /// running `atrest-bench` (from /proc/self/exe). Until session 22 the variable was not read here, so a bench
    /// run with another build's directory measured its own directory's services (docs/BENCHMARKS.md).
    static var binDirectory: String {
        if let directory = ProcessInfo.processInfo.environment["ATREST_BIN_DIR"], !directory.isEmpty { return directory }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().path
    }

    /// Stops `cluster` but moves its object store to `keep` first (workers
    /// drained, so nothing writes there), for the caller to delete later.
    static func stop(_ cluster: LocalCluster, keepingObjectsIn keep: String) {
        for name in cluster.workerNames { cluster.drainWorker(name) }
        if cluster.options.storage == .local { rename(cluster.objectsDirectory, keep) }
        cluster.stop()
    }

    /// Starts the cluster under `root`, bootstraps the bench user and waits
    /// for every worker; `blobs` acts as that user.
    /// With `metrics`, every service also serves `--metrics-listen 127.0.0.1:0` (the ready lines' `metrics` field).
    static func start(workers count: Int, root: String, storage: LocalCluster.Options.Storage = .local,
                      metrics: Bool = false) async throws -> (cluster: LocalCluster, blobs: BlobClient) {
        var options = LocalCluster.Options(root: root, binDirectory: binDirectory, workers: count, workerPrefix: "bench-w", workerCredit: 8)
        options.storage = storage
        if metrics {
            let listen = ["--metrics-listen", "127.0.0.1:0"]
            options.extraArguments = [.identity: listen, .vault: listen, .frontDoor: listen, .worker: listen]
        }
        let cluster = try LocalCluster(options)
        do {
            let admin = try await cluster.adminIdentity()
            _ = try await admin.createTenant(tenant)
            _ = try await admin.createUser(tenant: tenant, name: user, secret: secret)
            let client = ServiceClient(rpc: cluster.client, token: try await cluster.token(tenant: tenant, user, secret),
                                       timeout: .seconds(60))
            _ = try await AccountClient(client).create("bench")
            let blobs = BlobClient(client, account: "bench")
            try await blobs.createContainer("bench")
            try await cluster.waitForWorkers(count: count)
            return (cluster, blobs)
        } catch {
            cluster.stop()
            throw error
        }
    }
}
