import Foundation
import Testing
import AtRestRados
import AtRestTesting

/// A throwaway Ceph cluster from `scripts/ceph-dev.sh` in a temp directory
/// (`CephDevScript`), started once for a suite by the `.cephDevCluster` trait
/// and stopped after it, with what the RADOS tests do on it.
struct CephDevCluster: Sendable {
    typealias Store = CephDevScript.Store

    let script: CephDevScript
    var directory: String { script.directory }
    var pool: String { script.pool }
    var confFile: String { script.confFile }
    var keyringFile: String { script.keyringFile }
    var adminKeyringFile: String { script.adminKeyringFile }
    var configuration: RadosConfiguration {
        RadosConfiguration(confFile: confFile, user: "client.atrest", keyringFile: keyringFile, timeout: .seconds(10))
    }

    /// The cluster of the running suite.
    @TaskLocal static var current: CephDevCluster?

    static func start(pool: String = "atrest", osds: Int = 1, store: Store = .memstore) throws -> CephDevCluster {
        CephDevCluster(script: try CephDevScript.start(pool: pool, osds: osds, store: store))
    }

    func stop() throws { try script.stop() }

    /// The configuration of client.atrest with another operation timeout.
    func configuration(timeout: Duration) -> RadosConfiguration {
        var configuration = configuration
        configuration.timeout = timeout
        return configuration
    }

    /// Runs a `ceph` admin command as client.admin (e.g. to make a user with fewer capabilities).
    func admin(_ arguments: [String]) throws -> String {
        let (status, output) = try Self.run(["-c", confFile, "-n", "client.admin", "-k", adminKeyringFile] + arguments, executable: "/usr/bin/ceph")
        guard status == 0 else { throw CephDevError(message: "ceph \(arguments.joined(separator: " ")) failed: \(output)") }
        return output
    }

    static func run(_ arguments: [String], executable: String = CephDevScript.path, environment: [String: String]? = nil) throws -> (Int32, String) {
        try CephDevScript.run(arguments, executable: executable, environment: environment)
    }
}

struct CephDevError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Starts one cluster for the suite it is attached to and stops it afterwards.
struct CephDevClusterTrait: SuiteTrait, TestScoping {
    var osds = 1
    var store = CephDevCluster.Store.memstore
    var isRecursive: Bool { false }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let cluster = try CephDevCluster.start(osds: osds, store: store)
        do {
            try await CephDevCluster.$current.withValue(cluster) { try await function() }
        } catch {
            try? cluster.stop()
            throw error
        }
        try cluster.stop()
    }
}

extension Trait where Self == CephDevClusterTrait {
    static var cephDevCluster: Self { CephDevClusterTrait() }

    static func cephDevCluster(osds: Int, store: CephDevCluster.Store) -> Self { CephDevClusterTrait(osds: osds, store: store) }
}
