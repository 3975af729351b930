import AtRestTesting
import Foundation
import Synchronization

/// A tool the bench runs (fio, nbdkit): stdout and stderr go to files under
/// `directory` (a chatty child never fills a pipe), the pid is tracked by
/// `cleanup` so it is killed if the bench dies first, and `stop` (or
/// release) SIGTERMs, then SIGKILLs and reaps it.
final class BenchChild: @unchecked Sendable {
    let name: String
    private let process = Process()
    private let cleanup: ExitCleanup
    private let exited = ExitStatus()
    private let outPath: String, errPath: String

    init(_ executable: String, _ arguments: [String], directory: String, cleanup: ExitCleanup) throws {
        name = URL(fileURLWithPath: executable).lastPathComponent
        self.cleanup = cleanup
        let id = UUID().uuidString.prefix(8)
        outPath = "\(directory)/\(name)-\(id).out"
        errPath = "\(directory)/\(name)-\(id).err"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        defer {
            try? out.close()
            try? err.close()
        }
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let exited = exited
        process.terminationHandler = { process in exited.value.withLock { $0 = process.terminationStatus } }
        try process.run()
        cleanup.track(process.processIdentifier)
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { exited.value.withLock { $0 } == nil }
    var stdout: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }

    /// Waits (suspended, polling) for the exit; its status.
    func wait() async throws -> Int32 {
        while true {
            if let status = exited.value.withLock({ $0 }) {
                cleanup.untrack(process.processIdentifier)
                return status
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// SIGTERM, up to 5 s to exit, then SIGKILL; reaped either way.
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        cleanup.untrack(process.processIdentifier)
    }

    deinit { stop() }

    /// The exit status, set by the termination handler.
    private final class ExitStatus: Sendable { let value = Mutex<Int32?>(nil) }

    /// Runs `executable` to its end; its stdout, or a failure with its stderr.
    static func output(_ executable: String, _ arguments: [String], directory: String, cleanup: ExitCleanup) async throws -> String {
        let child = try BenchChild(executable, arguments, directory: directory, cleanup: cleanup)
        let status = try await child.wait()
        guard status == 0 else {
            throw FioFailure("\(child.name) \(arguments.joined(separator: " ")) failed (exit \(status)): \(child.stderr.suffix(2000))\(child.stdout.suffix(1000))")
        }
        return child.stdout
    }
}
