import Foundation
import Testing
import AtRestRados

/// A throwaway Ceph cluster from `scripts/ceph-dev.sh` in a temp directory,
/// started once for a suite by the `.cephDevCluster` trait and stopped after it.
struct CephDevCluster: Sendable {
    let directory: String
    let pool: String
    var confFile: String { directory + "/ceph.conf" }
    var keyringFile: String { directory + "/client.atrest.keyring" }
    var adminKeyringFile: String { directory + "/client.admin.keyring" }
    var configuration: RadosConfiguration {
        RadosConfiguration(confFile: confFile, user: "client.atrest", keyringFile: keyringFile, timeout: .seconds(10))
    }

    /// The cluster of the running suite.
    @TaskLocal static var current: CephDevCluster?

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/ceph-dev.sh").path

    static func start(pool: String = "atrest") throws -> CephDevCluster {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("atrest-ceph-\(UUID().uuidString.prefix(8))").path
        let (status, output) = try run(["start", directory, "--pool", pool])
        guard status == 0, output.contains("ceph-dev ready conf=\(directory)/ceph.conf user=client.atrest pool=\(pool)") else {
            _ = try? run(["stop", directory])
            throw CephDevError(message: "scripts/ceph-dev.sh start failed (exit \(status)):\n\(output)")
        }
        return CephDevCluster(directory: directory, pool: pool)
    }

    func stop() throws {
        let (status, output) = try Self.run(["stop", directory])
        guard status == 0 else { throw CephDevError(message: "scripts/ceph-dev.sh stop failed (exit \(status)):\n\(output)") }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs a `ceph` admin command as client.admin (e.g. to make a user with fewer capabilities).
    func admin(_ arguments: [String]) throws -> String {
        let (status, output) = try Self.run(["-c", confFile, "-n", "client.admin", "-k", adminKeyringFile] + arguments, executable: "/usr/bin/ceph")
        guard status == 0 else { throw CephDevError(message: "ceph \(arguments.joined(separator: " ")) failed: \(output)") }
        return output
    }

    static func run(_ arguments: [String], executable: String = script, environment: [String: String]? = nil) throws -> (Int32, String) {
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

struct CephDevError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Starts one cluster for the suite it is attached to and stops it afterwards.
struct CephDevClusterTrait: SuiteTrait, TestScoping {
    var isRecursive: Bool { false }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let cluster = try CephDevCluster.start()
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
}
