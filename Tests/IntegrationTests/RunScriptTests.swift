import AtRestTesting
import Foundation
import Testing

/// The README's first command, `scripts/run.sh`, run as a user runs it (with
/// the test build's executables, ATREST_BIN_DIR, instead of building again;
/// its own data directory and ports): every step of the demo passes (the
/// script fails on any mismatch, plaintext found on disk or a key error that
/// does not come or go), and with `--keep-running` it prints exactly one
/// `export ATREST_CONFIG=…` line after which the printed plain commands work
/// with no endpoint or CURVE flags (issue 20: connection settings persist).
@Suite(.serialized) struct RunScriptTests {
    @Test func demoRoundTripThenKeepRunningPrintsOneExportLine() async throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("atrest-run-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        // Below the ephemeral range, spread by process so two test runs on one machine do not meet.
        let base = 21_000 + Int(getpid() % 300) * 30
        let run = try await ClientTools.run("/bin/bash", [ClientTools.repoRoot + "/scripts/run.sh", "--clean", "--keep-running"],
                                            environment: ["ATREST_BIN_DIR": ServiceProcess.binDirectory.path, "ATREST_DEMO_DIR": work + "/demo",
                                                          "ATREST_DEMO_PORT_BASE": String(base)],
                                            in: work, timeout: .seconds(400))
        // The processes it leaves running: "cluster left running (stop: kill PID …)".
        let pids: [Int32] = run.lines.first { $0.contains("cluster left running (stop: kill ") }
            .map { line in line[line.range(of: "kill ")!.upperBound...].prefix { $0 != ")" }.split(separator: " ").compactMap { Int32($0) } } ?? []
        defer {
            for pid in pids { kill(pid, SIGTERM) }
            for pid in pids {
                for _ in 0..<100 where kill(pid, 0) == 0 { usleep(100_000) }
                if kill(pid, 0) == 0 { kill(pid, SIGKILL) }
            }
        }
        #expect(run.status == 0, "\(run.transcript)")
        #expect(run.stdout.contains("identical."), "the upload read back byte-exact: \(run.transcript)")
        #expect(pids.count == 5, "identity, vault, front door and two workers left running: \(pids)")

        // Exactly one export line, then plain commands.
        let exports = run.lines.filter { $0.hasPrefix("export ") }
        try #require(exports.count == 1, "\(run.transcript)")
        #expect(exports[0].hasPrefix("export ATREST_CONFIG="), "\(exports[0])")
        var environment: [String: String] = [:]
        for assignment in exports[0].dropFirst("export ".count).split(separator: " ") {
            guard let eq = assignment.firstIndex(of: "=") else { continue }
            environment[String(assignment[..<eq])] = String(assignment[assignment.index(after: eq)...])
        }
        let config = try #require(environment["ATREST_CONFIG"])
        #expect(config.hasPrefix(work + "/demo/") && FileManager.default.fileExists(atPath: config), "\(config)")
        #expect(environment["ATREST_ACCOUNT"]?.isEmpty == false, "\(exports[0])")
        environment["PATH"] = ServiceProcess.binDirectory.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let commands = run.lines.filter { $0.hasPrefix("  atrest ") }.map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(commands.count >= 3, "\(run.transcript)")
        for command in commands {
            let words = command.split(separator: " ").map(String.init)
            let ran = try await ClientTools.run(ServiceProcess.binDirectory.path + "/atrest", Array(words.dropFirst()),
                                                environment: environment, in: work, timeout: .seconds(60))
            #expect(ran.status == 0, "`\(command)` after the export line: \(ran.transcript)")
            if words.dropFirst().prefix(2) == ["blob", "ls"] {
                #expect(!ran.stdout.isEmpty, "the demo's blob is listed: \(ran.transcript)")
            }
        }
    }
}
