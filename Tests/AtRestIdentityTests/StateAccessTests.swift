import AtRestLocalState
import Glibc
import Testing
@testable import AtRestIdentity
import AtRestTokens

/// The identity service refuses state others can read or write.
@Suite struct StateAccessTests {
    private func startError(_ dir: String) async -> String? {
        do { _ = try await Harness(dir: dir); return nil } catch { return "\(error)" }
    }

    @Test func exposedStateIsRefusedNamingFileAndFix() async throws {
        let dir = makeTempDirectory()
        defer { _ = system("rm -rf '\(dir)'") }
        _ = try await Harness(dir: dir)
        for (path, mode, fix) in [("\(dir)/identity.state", 0o666, "chmod 600"), (dir, 0o777, "chmod 700"),
                                  ("\(dir)/credentials", 0o755, "chmod 700"), ("\(dir)/credentials/admin.secret", 0o644, "chmod 600")] {
            chmod(path, mode_t(mode))
            let error = await startError(dir)
            #expect(error?.contains("\(fix) '\(path)'") == true, "\(path): \(String(describing: error))")
            chmod(path, path == dir || path.hasSuffix("credentials") ? 0o700 : 0o600)
        }
        #expect(await startError(dir) == nil)
    }
}
