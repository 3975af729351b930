import AtRestSockets
import AtRestTesting
import Foundation

/// The outside tools of `atrest-bench nbd`: fio (with its `nbd` engine and
/// the file engine asked for) and `nbdkit memory`, checked before anything
/// starts so a missing one is a clear error, not a failed job halfway.
struct NBDBenchTools {
    static let install = "run scripts/setup.sh --test (installs fio, nbdkit, qemu-utils, libnbd-bin) or apt-get install fio nbdkit"
    let fio: String
    let nbdkit: String

    static func find(fileEngine: String, directory: String, cleanup: ExitCleanup) async throws -> NBDBenchTools {
        guard let fio = which("fio") else { throw FioFailure("fio is not on PATH: \(install)") }
        guard let nbdkit = which("nbdkit") else { throw FioFailure("nbdkit is not on PATH: \(install)") }
        let engines = try await BenchChild.output(fio, ["--enghelp"], directory: directory, cleanup: cleanup)
            .split(whereSeparator: \.isWhitespace).map(String.init)
        guard engines.contains("nbd") else {
            throw FioFailure("\(fio) has no `nbd` ioengine (`fio --enghelp` does not list it): it was built without libnbd; Debian's fio has it (3.33 on bookworm, which depends on libnbd0): \(install)")
        }
        guard engines.contains(fileEngine) else {
            throw FioFailure("\(fio) has no `\(fileEngine)` ioengine for the O_DIRECT file (`fio --enghelp` does not list it); try --file-engine libaio or io_uring")
        }
        do {
            _ = try await BenchChild.output(nbdkit, ["memory", "--dump-plugin"], directory: directory, cleanup: cleanup)
        } catch {
            throw FioFailure("nbdkit has no `memory` plugin (\(error)): \(install)")
        }
        return NBDBenchTools(fio: fio, nbdkit: nbdkit)
    }

    /// Starts `nbdkit memory SIZE` on 127.0.0.1 (a free port) in the
    /// foreground; returns once it listens (its pid file appears) with its URI.
    func startMemoryServer(size: UInt64, directory: String, cleanup: ExitCleanup) async throws -> (BenchChild, uri: String) {
        let port = try Self.freePort()
        let pidFile = "\(directory)/nbdkit-\(port).pid"
        let server = try BenchChild(nbdkit, ["--foreground", "--exit-with-parent", "--pidfile", pidFile, "--ipaddr", "127.0.0.1",
                                             "--port", String(port), "memory", String(size)], directory: directory, cleanup: cleanup)
        let deadline = Date().addingTimeInterval(20)
        while !FileManager.default.fileExists(atPath: pidFile) {
            guard server.isRunning else { throw FioFailure("nbdkit memory ended at start: \(server.stderr.suffix(2000))") }
            guard Date() < deadline else {
                server.stop()
                throw FioFailure("nbdkit memory did not listen within 20 s: \(server.stderr.suffix(2000))")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return (server, "nbd://127.0.0.1:\(port)/")
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago (a listener on port 0, closed again).
    static func freePort() throws -> UInt16 {
        let listener = try TCPListener(host: "127.0.0.1", port: 0)
        defer { listener.close() }
        return listener.port
    }

    /// The first executable `name` on $PATH.
    static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
