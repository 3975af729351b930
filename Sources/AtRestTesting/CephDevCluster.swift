import Foundation
import AtRestRados

/// A throwaway Ceph cluster from `scripts/ceph-dev.sh` (`CephDevScript`) in a
/// temp directory: tests start one per suite with a `.cephDevCluster` trait
/// over `withRunning` (or per test with `start`); benchmarks may use one too.
public struct CephDevCluster: Sendable {
    public typealias Store = CephDevScript.Store

    public let script: CephDevScript
    public var directory: String { script.directory }
    public var pool: String { script.pool }
    public var confFile: String { script.confFile }
    public var keyringFile: String { script.keyringFile }
    public var adminKeyringFile: String { script.adminKeyringFile }
    public var configuration: RadosConfiguration {
        RadosConfiguration(confFile: confFile, user: "client.atrest", keyringFile: keyringFile, timeout: .seconds(10))
    }

    /// This cluster as a `LocalCluster`'s storage (client.atrest; its pool
    /// first, then `extraPools`).
    public func clusterStorage(extraPools: [String] = []) -> LocalClusterOptions.Storage {
        script.clusterStorage(extraPools: extraPools)
    }

    /// The configuration of client.atrest with another operation timeout.
    public func configuration(timeout: Duration) -> RadosConfiguration {
        var configuration = configuration
        configuration.timeout = timeout
        return configuration
    }

    /// The cluster of the running suite.
    @TaskLocal public static var current: CephDevCluster?

    public static func start(pool: String = "atrest", osds: Int = 1, store: Store = .memstore, host: String = "127.0.0.1") throws -> CephDevCluster {
        CephDevCluster(script: try CephDevScript.start(pool: pool, osds: osds, store: store, host: host))
    }

    public func stop() throws { try script.stop() }

    /// Runs a `ceph` admin command as client.admin (e.g. to make a pool or a user).
    @discardableResult
    public func admin(_ arguments: [String]) throws -> String {
        let (status, output) = try Self.run(["-c", confFile, "-n", "client.admin", "-k", adminKeyringFile] + arguments, executable: "/usr/bin/ceph")
        guard status == 0 else { throw CephDevError(message: "ceph \(arguments.joined(separator: " ")) failed: \(output)") }
        return output
    }

    public static func run(_ arguments: [String], executable: String = CephDevScript.path, environment: [String: String]? = nil) throws -> (Int32, String) {
        try CephDevScript.run(arguments, executable: executable, environment: environment)
    }
}

public struct CephDevError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
    public init(message: String) { self.message = message }
}

extension CephDevCluster {
    /// Starts a cluster, runs `body` with it as `current`, and stops it
    /// (also when `body` throws).
    public static func withRunning(osds: Int = 1, store: Store = .memstore, _ body: @Sendable () async throws -> Void) async throws {
        let cluster = try start(osds: osds, store: store)
        do {
            try await $current.withValue(cluster) { try await body() }
        } catch {
            try? cluster.stop()
            throw error
        }
        try cluster.stop()
    }
}
