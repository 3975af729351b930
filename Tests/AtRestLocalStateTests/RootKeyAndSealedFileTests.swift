import AtRestCrypto
import Glibc
import Testing
import AtRestLocalState

/// The root key's sources and guards, and the sealed file's binding to its
/// key and label: real files in a fresh 0700 directory.
@Suite struct RootKeyAndSealedFileTests {
    let dir: String

    init() {
        var template = Array("/tmp/atrest-rootkey-XXXXXX".utf8CString)
        dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }

    func cleanUp() { _ = system("rm -rf '\(dir)'") }

    func refusal<T>(_ body: () throws -> T) -> LocalStateError? {
        do { _ = try body() } catch let error as LocalStateError { return error } catch { return LocalStateError(.io, "\(error)") }
        return nil
    }

    func mode(_ path: String) -> mode_t {
        var info = stat()
        stat(path, &info)
        return info.st_mode & 0o777
    }

    func hex(_ key: SecretBytes) -> String {
        key.withUnsafeBytes { bytes in bytes.map { String($0 >> 4, radix: 16) + String($0 & 0xF, radix: 16) }.joined() }
    }

    @Test func createdOnceOwnerOnlyThenReadBack() throws {
        defer { cleanUp() }
        let path = "\(dir)/sub/root.key"
        let first = try RootKeyFile.resolve(path: path, environmentVariable: nil, mayCreate: true, service: "test")
        #expect(mode(path) == 0o600)
        let second = try RootKeyFile.resolve(path: path, environmentVariable: nil, mayCreate: true, service: "test")
        #expect(first == second)
        let third = try RootKeyFile.resolve(path: path, environmentVariable: nil, mayCreate: false, service: "test")
        #expect(first == third)
    }

    @Test func missingKeyWithExistingStateIsRefusedNotReplaced() throws {
        defer { cleanUp() }
        let path = "\(dir)/root.key"
        let error = refusal { try RootKeyFile.resolve(path: path, environmentVariable: "ATREST_TEST_UNSET_KEY", mayCreate: false, service: "vault") }
        #expect(error?.code == .corrupt)
        #expect(error?.message.contains("restore the key file (or set $ATREST_TEST_UNSET_KEY)") == true)
        #expect(access(path, F_OK) != 0)
    }

    @Test func aKeyFileReadableByOthersIsRefused() throws {
        defer { cleanUp() }
        let path = "\(dir)/root.key"
        _ = try RootKeyFile.resolve(path: path, environmentVariable: nil, mayCreate: true, service: "test")
        chmod(path, 0o640)
        #expect(refusal { try RootKeyFile.resolve(path: path, environmentVariable: nil, mayCreate: true, service: "test") }?.code == .insecurePermissions)
    }

    @Test func theEnvironmentWinsOverTheFile() throws {
        defer { cleanUp() }
        let path = "\(dir)/root.key"
        let file = try RootKeyFile.resolve(path: path, environmentVariable: nil, mayCreate: true, service: "test")
        let text = String(repeating: "ab", count: 32)
        let name = "ATREST_TEST_ROOT_KEY_\(getpid())"
        setenv(name, text, 1)
        defer { unsetenv(name) }
        let fromEnvironment = try RootKeyFile.resolve(path: path, environmentVariable: name, mayCreate: true, service: "test")
        #expect(hex(fromEnvironment) == text)
        #expect(fromEnvironment != file)
    }

    @Test func malformedKeysAreRefusedWithoutEchoingThem() {
        defer { cleanUp() }
        #expect(hex(try! RootKeyFile.parse(" " + String(repeating: "0f", count: 32) + "\n", source: "s")) == String(repeating: "0f", count: 32))
        for bad in [String(repeating: "a", count: 63), String(repeating: "a", count: 66), String(repeating: "zz", count: 32), ""] {
            let error = refusal { try RootKeyFile.parse(bad, source: "$X") }
            #expect(error?.code == .invalidKey)
            #expect(error?.message == "$X must hold 64 hex characters (32 bytes)")
        }
    }

    @Test func sealedFileRoundTripsAndIsBoundToKeyAndLabel() throws {
        defer { cleanUp() }
        let key = try SecretBytes(randomCount: 32)
        let file = SealedFile(path: "\(dir)/state.sealed", label: "provider:managed", rootKey: key)
        #expect(!file.exists)
        #expect(try file.read() == nil)
        let content: [UInt8] = Array("secret state".utf8)
        try file.write(content)
        #expect(mode(file.path) == 0o600)
        #expect(try file.read() == SecretBytes(content))
        let raw = try #require(try LocalFile.read(file.path))
        #expect(!String(decoding: raw, as: UTF8.self).contains("secret state"))

        let otherLabel = SealedFile(path: file.path, label: "provider:customer", rootKey: key)
        #expect(refusal { try otherLabel.read() }?.code == .corrupt)
        let otherKey = SealedFile(path: file.path, label: file.label, rootKey: try SecretBytes(randomCount: 32))
        #expect(refusal { try otherKey.read() }?.message.contains("does not authenticate") == true)

        for index in [0, 5, raw.count / 2, raw.count - 1] {
            var flipped = raw
            flipped[index] ^= 0x01
            try LocalFile.writeAtomically(flipped, to: file.path)
            #expect(refusal { try file.read() }?.code == .corrupt, "byte \(index)")
        }
        try LocalFile.writeAtomically(Array(raw.prefix(SealedFile.magic.count + 12 + 15)), to: file.path)
        #expect(refusal { try file.read() }?.message.contains("truncated") == true)
    }
}
