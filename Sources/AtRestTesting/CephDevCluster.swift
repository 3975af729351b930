import Foundation
import AtRestRados

/// A throwaway Ceph cluster from `scripts/ceph-dev.sh` in a temp directory
/// (tests start one per suite with a `.cephDevCluster` trait over
/// `withRunning`; benchmarks may use one too).
public struct CephDevCluster: Sendable {
    public let directory: String
    public let pool: String
    public var confFile: String { directory + "/ceph.conf" }
    public var keyringFile: String { directory + "/client.atrest.keyring" }
    public var adminKeyringFile: String { directory + "/client.admin.keyring" }
    public var configuration: RadosConfiguration {
        RadosConfiguration(confFile: confFile, user: "client.atrest", keyringFile: keyringFile, timeout: .seconds(10))
    }

    /// The cluster of the running suite.
    @TaskLocal public static var current: CephDevCluster?

    public static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/ceph-dev.sh").path

    public static func start(pool: String = "atrest") throws -> CephDevCluster {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("atrest-ceph-\(UUID().uuidString.prefix(8))").path
        let (status, output) = try run(["start", directory, "--pool", pool])
        guard status == 0, output.contains("ceph-dev ready conf=\(directory)/ceph.conf user=client.atrest pool=\(pool)") else {
            _ = try? run(["stop", directory])
            throw CephDevError(message: "scripts/ceph-dev.sh start failed (exit \(status)):\n\(output)")
        }
        return CephDevCluster(directory: directory, pool: pool)
    }

    public func stop() throws {
        let (status, output) = try Self.run(["stop", directory])
        guard status == 0 else { throw CephDevError(message: "scripts/ceph-dev.sh stop failed (exit \(status)):\n\(output)") }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs a `ceph` admin command as client.admin (e.g. to make a user with fewer capabilities).
    public func admin(_ arguments: [String]) throws -> String {
        let (status, output) = try Self.run(["-c", confFile, "-n", "client.admin", "-k", adminKeyringFile] + arguments, executable: "/usr/bin/ceph")
        guard status == 0 else { throw CephDevError(message: "ceph \(arguments.joined(separator: " ")) failed: \(output)") }
        return output
    }

    public static func run(_ arguments: [String], executable: String = script, environment: [String: String]? = nil) throws -> (Int32, String) {
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

public struct CephDevError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
    public init(message: String) { self.message = message }
}

extension CephDevCluster {
    /// Starts a cluster, runs `body` with it as `current`, and stops it
    /// (also when `body` throws).
    public static func withRunning(_ body: @Sendable () async throws -> Void) async throws {
        let cluster = try start()
        do {
            try await $current.withValue(cluster) { try await body() }
        } catch {
            try? cluster.stop()
            throw error
        }
        try cluster.stop()
    }
}
