import AtRestTesting
import Foundation
import Testing

/// docker/ checked without a Docker engine: docker/check_compose.py parses
/// compose.yaml and checks every role, flag (against the built executables'
/// --help), port, volume, plug-in path and health check it names.
@Suite struct DeployComposeTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var pythonWithYAML: Bool {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import yaml"]
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return false }
        probe.waitUntilExit()
        return probe.terminationStatus == 0
    }

    @Test(.enabled(if: pythonWithYAML, "needs python3 with PyYAML (scripts/setup.sh --test installs python3-yaml)"))
    func composeFileMatchesTheImageBuild() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.repository.appendingPathComponent("docker/check_compose.py").path, ServiceProcess.binDirectory.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let failures = output.split(separator: "\n").filter { $0.hasPrefix("FAIL") }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
        #expect(process.terminationStatus == 0)
        #expect(output.contains(" passed, 0 failed"))
    }
}
