import AtRestTesting
import Foundation
import Testing

/// docs/OPERATIONS.md lists every flag of every service executable, under
/// that executable's heading (regenerate with docker/gen_flags_doc.py).
@Suite struct OperationsDocTests {
    @Test(arguments: ["atrest-identity", "atrest-keyvault", "atrest-frontdoor", "atrest-worker", "atrest-recover", "atrest-nbd", "atrest-fuse-passthrough"])
    func everyFlagIsDocumented(_ executable: String) throws {
        let doc = try String(contentsOf: DeployComposeTests.repository.appendingPathComponent("docs/OPERATIONS.md"), encoding: .utf8)
        guard let start = doc.range(of: "### \(executable)\n") else {
            Issue.record("docs/OPERATIONS.md has no section for \(executable)")
            return
        }
        let section = doc[start.upperBound...].prefix { $0 != "#" }
        let process = Process()
        process.executableURL = ServiceProcess.binDirectory.appendingPathComponent(executable)
        process.arguments = ["--help"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let help = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let flags = help.split(separator: "\n").compactMap { line -> String? in
            let trimmed = line.drop { $0 == " " }
            guard line.hasPrefix("  --"), let end = trimmed.firstIndex(where: { $0 == " " }) ?? Optional(trimmed.endIndex) else { return nil }
            return String(trimmed[..<end])
        }
        #expect(flags.count >= 5, "no flags parsed from \(executable) --help")
        for flag in flags where flag != "--help" {
            #expect(section.contains("| `\(flag)` |"), "\(executable) \(flag) is not in docs/OPERATIONS.md")
        }
    }
}
