import Foundation
import Testing

/// The Python client's type hints (clients/python, PEP 561 `py.typed`),
/// checked by Debian's `mypy` (scripts/setup.sh --test) with the package's
/// own configuration (`[tool.mypy]` in pyproject.toml: strict), from the
/// source tree: no package index needed.
@Suite struct PythonClientTypeTests {
    static let mypy = "/usr/bin/mypy"
    static let package = "\(ClientTools.repoRoot)/clients/python"

    func check(_ directory: String, in work: String) async throws -> ClientTools.Output {
        try #require(FileManager.default.isExecutableFile(atPath: Self.mypy), "mypy is missing: run scripts/setup.sh --test")
        return try await ClientTools.run(Self.mypy, ["--config-file", "\(Self.package)/pyproject.toml", "--cache-dir", "\(work)/cache",
                                                     "--no-error-summary", directory], in: work, timeout: .seconds(300))
    }

    @Test func thePublicAPIIsFullyTypedAndChecks() async throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("atrest-mypy-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let clean = try await check("\(Self.package)/atrest_client", in: work)
        #expect(clean.status == 0 && clean.stdout.isEmpty, "\(clean.transcript)")
        #expect(FileManager.default.fileExists(atPath: "\(Self.package)/atrest_client/py.typed"))

        // The configuration is strict: a function without hints (or a wrong one) fails the check.
        let copy = "\(work)/atrest_client"
        try FileManager.default.copyItem(atPath: "\(Self.package)/atrest_client", toPath: copy)
        let client = try String(contentsOfFile: "\(copy)/client.py", encoding: .utf8)
        try (client + "\n\ndef untyped(value):\n    return value\n\n\ndef wrong() -> int:\n    return AtRestClient(\"tcp://127.0.0.1:1\").get_blob(\"a\", \"c\", \"b\")\n")
            .write(toFile: "\(copy)/client.py", atomically: true, encoding: .utf8)
        let broken = try await check(copy, in: work)
        #expect(broken.status != 0, "\(broken.transcript)")
        #expect(broken.stdout.contains("Function is missing a type annotation"), "\(broken.transcript)")
        #expect(broken.stdout.contains("Incompatible return value type (got \"bytes\", expected \"int\")"), "\(broken.transcript)")
    }
}
