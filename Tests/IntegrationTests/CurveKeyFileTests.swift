import AtRestServiceKit
import Foundation
import Testing

/// The CURVE key files' readers on the inputs fuzz-keyfiles found leaking
/// (docs/FUZZING.md): an empty allow file and a file that is not UTF-8
/// (Foundation's readers leaked on both; the leak itself is what the fuzz
/// target's LeakSanitizer checks, these tests pin the answers).
@Suite struct CurveKeyFileTests {
    @Test func emptyAndNonUTF8FilesGetClearAnswers() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("curve-keyfile-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let empty = directory + "/empty"
        #expect(FileManager.default.createFile(atPath: empty, contents: Data([0x0a].dropFirst()), attributes: [.posixPermissions: 0o600]))
        #expect(try CurveKeyFile.readAllowList(empty) == [])
        let binary = directory + "/binary"
        #expect(FileManager.default.createFile(atPath: binary, contents: Data([0xff, 0xfe, 0x0a]), attributes: [.posixPermissions: 0o600]))
        #expect(throws: CurveKeyFile.Failure.self) { try CurveKeyFile.readAllowList(binary) }
        #expect(throws: CurveKeyFile.Failure.self) { try CurveKeyFile.readKeyPair(binary) }
        #expect(throws: CurveKeyFile.Failure.self) { try CurveKeyFile.readKeyPair(empty) }
        #expect(throws: CurveKeyFile.Failure.self) { try CurveKeyFile.readAllowList(directory + "/missing") }
    }
}
