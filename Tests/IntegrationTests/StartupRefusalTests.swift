import AtRestTesting
import Foundation
import Testing

/// Start-up refusals of the real executables (issue 13, low items): exposed
/// state files and an unavailable FIPS provider stop a service at once,
/// with a message that names the cause and the fix, and a non-zero exit.
@Suite struct StartupRefusalTests {
    @Test func vaultRefusesWorldWritableStateNamingTheChmod() async throws {
        let directory = NSTemporaryDirectory() + "atrest-it-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let state = directory + "/vault.state"
        #expect(FileManager.default.createFile(atPath: state, contents: Data([1, 2, 3]), attributes: [.posixPermissions: 0o666]))
        let result = try await runTool("atrest-keyvault", [
            "--data-dir", directory, "--endpoint", "tcp://127.0.0.1:*", "--events-endpoint", "tcp://127.0.0.1:*",
            "--provider", "managed", "--log-level", "error",
        ], killAfter: .seconds(20))
        #expect(result.status != 0)
        #expect(result.err.contains("'\(state)' is readable and writable by group or others (mode 666)"), "\(result.err)")
        #expect(result.err.contains("chmod 600 '\(state)'"), "\(result.err)")
        #expect(!result.out.contains("ready"))
    }

    /// Debian 12 ships no OpenSSL FIPS provider: with ATREST_FIPS=1 every
    /// executable must refuse to start rather than run outside FIPS mode.
    @Test func fipsWithoutProviderStopsEveryExecutable() async throws {
        let directory = NSTemporaryDirectory() + "atrest-it-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let commands: [(String, [String])] = [
            ("atrest-identity", ["--data-dir", directory + "/identity", "--endpoint", "tcp://127.0.0.1:*"]),
            ("atrest-keyvault", ["--data-dir", directory + "/vault", "--endpoint", "tcp://127.0.0.1:*", "--events-endpoint", "tcp://127.0.0.1:*"]),
            ("atrest-frontdoor", ["--data-dir", directory + "/frontdoor", "--credentials-file", directory + "/none.secret",
                                  "--endpoint", "tcp://127.0.0.1:*", "--workers", "tcp://127.0.0.1:*"]),
            ("atrest-worker", ["--data-dir", directory + "/objects", "--credentials-file", directory + "/none.secret"]),
            ("atrest", ["curve", "keygen", directory + "/a.curve"]),
            ("atrest-store-writer", [directory + "/objects", "1"]),
            ("atrest-recover", ["--vault-dir", directory + "/vault", "--frontdoor-dir", directory + "/frontdoor", "--data-dir", directory + "/objects"]),
        ]
        for (tool, arguments) in commands {
            let refused = try await runTool(tool, arguments, environment: ["ATREST_FIPS": "1"], killAfter: .seconds(20))
            #expect(refused.status != 0, "\(tool)")
            #expect(refused.err.contains("FIPS provider could not be loaded"), "\(tool): \(refused.err)")
            #expect(refused.err.contains("fips.so"), "\(tool): \(refused.err)")
            #expect(!refused.out.contains("ready"), "\(tool)")
        }
        // Without the switch the same command lines get past the policy (the CLI command succeeds).
        let plain = try await runTool("atrest", ["curve", "keygen", directory + "/b.curve"], environment: ["ATREST_FIPS": "0"])
        #expect(plain.status == 0, "\(plain.err)")
        #expect(!plain.err.contains("FIPS"))
    }

    /// `--backend` names the storage backend; an unknown one stops the
    /// worker before it connects anywhere, naming what this build has.
    @Test func workerRefusesAnUnknownBackend() async throws {
        let directory = NSTemporaryDirectory() + "atrest-it-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let refused = try await runTool("atrest-worker", [
            "--backend", "s3", "--data-dir", directory + "/objects", "--credentials-file", directory + "/none.secret",
        ], killAfter: .seconds(20))
        #expect(refused.status != 0)
        #expect(refused.err.contains("unknown backend 's3'; this build supports: local, rados"), "\(refused.err)")
        #expect(!refused.out.contains("ready"))
        #expect(!FileManager.default.fileExists(atPath: directory + "/objects"))
    }

    /// Ceph unreachable at start: the worker and the front door stop with an
    /// error naming the monitor address, within the timeout, never ready.
    @Test func servicesRefuseAnUnreachableCephNamingTheMonitor() async throws {
        let directory = NSTemporaryDirectory() + "atrest-it-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Port 1 on loopback: nothing listens there.
        try "[global]\nmon host = v1:127.0.0.1:1\nauth client required = cephx\n".write(toFile: directory + "/ceph.conf", atomically: true, encoding: .utf8)
        try "[client.atrest]\n\tkey = AQBNq0hlAAAAABAA0a0XbXyX0cBfMH0cAYQkMw==\n".write(toFile: directory + "/keyring", atomically: true, encoding: .utf8)
        try "x".write(toFile: directory + "/none.secret", atomically: true, encoding: .utf8)
        let ceph = ["--backend", "rados", "--ceph-conf", directory + "/ceph.conf", "--ceph-keyring", directory + "/keyring", "--pool", "atrest",
                    "--ceph-timeout", "2"]
        for (tool, extra) in [("atrest-worker", ["--name", "w"]), ("atrest-frontdoor", ["--data-dir", directory + "/fd"])] {
            let refused = try await runTool(tool, ceph + extra + ["--credentials-file", directory + "/none.secret"], killAfter: .seconds(40))
            #expect(refused.status != 0, "\(tool)")
            #expect(refused.err.contains("127.0.0.1:1") && refused.err.contains("within 2 s"), "\(tool): \(refused.err)")
            #expect(!refused.out.contains("ready"), "\(tool)")
            #expect(!refused.err.contains("AQBNq0hl"), "no key material in errors")
        }
    }
}
