import AtRestCrypto
import AtRestKeyVault
import AtRestLocalState
import AtRestStorage
import AtRestWire
import Glibc
import Testing
@testable import AtRestFrontDoor

/// The registry's persistence: one sealed record per account on a storage
/// backend under the root key of the data directory; registries of earlier
/// releases (`registry.sealed`, and the object-store one before it) are
/// imported once, and state whose key is missing is refused rather than replaced.
@Suite(.serialized) struct AccountRegistryTests {
    private func withDirectory(_ body: (String) async throws -> Void) async throws {
        var template = Array("/tmp/atrest-registry-XXXXXX".utf8CString)
        let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        defer { _ = system("rm -rf '\(dir)'") }
        try await body(dir)
    }

    static func record(_ id: String, owners: [String] = ["usr_1"]) -> AccountRecord {
        let encryption = AccountEncryption(keySource: AccountEncryption.managed, provider: "managed", keyID: "mk-0a1b", keyVersion: 2, changedAtUnix: 7)
        return AccountRecord(info: AccountInfo(accountID: id, tenant: "t1", managedIdentity: "mi_1", createdAtUnix: 5, encryption: encryption, owners: owners),
                             wrappedKey: [1, 2, 3], registered: KeyRef(provider: "managed", keyID: "mk-0a1b", version: 2), managedKeyID: "mk-0a1b")
    }
    private func record(_ id: String) -> AccountRecord { Self.record(id) }

    @Test func persistsOneSealedRecordPerAccountUnderAHexRootKey() async throws {
        try await withDirectory { dir in
            let registry = try await AccountRegistry.forTest("\(dir)/fd")
            try await registry.update("acct-1") { _ in record("acct-1") }
            try await registry.update("acct-2") { _ in record("acct-2") }
            registry.close()
            let keyText = String(decoding: try #require(try LocalFile.read("\(dir)/fd/registry.key")), as: UTF8.self)
            #expect(keyText.utf8.count == 65 && Hex.decode(String(keyText.dropLast())) != nil)
            #expect(!LocalFile.exists("\(dir)/fd/registry.sealed"))
            let names = try #require(try LocalFile.list("\(dir)/fd/registry-store/registry")).filter { !$0.hasPrefix(".") }
            #expect(names.count == 2 && names.allSatisfy { $0.hasPrefix("r-") && $0.utf8.count == 66 })
            for name in names {
                let bytes = try #require(try LocalFile.read("\(dir)/fd/registry-store/registry/\(name)"))
                #expect(Self.find(Array("acct-".utf8), in: bytes) == nil, "no clear account id in a record")
            }
            let reopened = try await AccountRegistry.forTest("\(dir)/fd")
            defer { reopened.close() }
            #expect(try await reopened.all() == [record("acct-1"), record("acct-2")])
            #expect(reopened.record("acct-2") == record("acct-2"), "loaded into the cache at start")
        }
    }

    @Test func importsARegistrySealedFileOnceAndKeepsIt() async throws {
        try await withDirectory { dir in
            // The data directory as the previous release left it: a root key and registry.sealed.
            let rootKey = try SecretBytes(randomCount: 32)
            #expect(try LocalFile.createExclusive(Array((rootKey.withUnsafeBytes { Hex.encode($0) } + "\n").utf8), at: "\(dir)/registry.key"))
            let old = AccountRegistryState(accounts: [record("acct-1"), record("acct-2")])
            try SealedFile(path: "\(dir)/registry.sealed", label: "frontdoor/registry", rootKey: rootKey).write(old.serialized())

            let registry = try await AccountRegistry.forTest(dir)
            #expect(try await registry.all() == [record("acct-1"), record("acct-2")])
            #expect(!LocalFile.exists("\(dir)/registry.sealed") && LocalFile.exists("\(dir)/registry.sealed.migrated"))
            // Later changes live on the backend only; a later start imports nothing again.
            try await registry.update("acct-1") { _ in nil }
            registry.close()
            let again = try await AccountRegistry.forTest(dir)
            defer { again.close() }
            #expect(try await again.all() == [record("acct-2")])
        }
    }

    @Test func anImportKeepsWhatTheSharedBackendAlreadyHas() async throws {
        try await withDirectory { dir in
            let first = try await AccountRegistry.forTest("\(dir)/fd1", backend: "\(dir)/shared")
            try await first.update("acct-1") { _ in Self.record("acct-1", owners: ["newer"]) }
            first.close()
            // A second front door (same root key) with an old registry.sealed joins the shared backend.
            try LocalFile.makeDirectory("\(dir)/fd2")
            let key = try #require(try LocalFile.read("\(dir)/fd1/registry.key"))
            #expect(try LocalFile.createExclusive(key, at: "\(dir)/fd2/registry.key"))
            let keyText = String(decoding: key, as: UTF8.self)
            let rootKey = try RootKeyFile.parse(keyText, source: "test")
            try SealedFile(path: "\(dir)/fd2/registry.sealed", label: "frontdoor/registry", rootKey: rootKey)
                .write(AccountRegistryState(accounts: [record("acct-1"), record("acct-3")]).serialized())
            let second = try await AccountRegistry.forTest("\(dir)/fd2", backend: "\(dir)/shared")
            defer { second.close() }
            #expect(try await second.all() == [Self.record("acct-1", owners: ["newer"]), record("acct-3")])
            #expect(LocalFile.exists("\(dir)/fd2/registry.sealed.migrated"))
        }
    }

    @Test func migratesARawKeyAndTheObjectStoreRegistry() async throws {
        try await withDirectory { dir in
            // A data directory as the release before that wrote it.
            let raw = try SecureRandom.bytes(32)
            #expect(try LocalFile.createExclusive(raw, at: "\(dir)/registry.key"))
            let store = try ObjectStore(directory: "\(dir)/registry")
            let key = try AccountKey(key: SecretBytes(raw), reference: KeyReference(provider: "frontdoor", keyID: "registry", keyVersion: 1, accountKeyVersion: 1))
            try await store.createContainer(account: "frontdoor", name: "registry", accountKey: key)
            let old = AccountRegistryState(accounts: [record("acct-1"), record("acct-2")])
            try await store.put(account: "frontdoor", container: "registry", name: "accounts", data: old.serialized(), accountKey: key)

            let registry = try await AccountRegistry.forTest(dir)
            #expect(try await registry.all() == [record("acct-1"), record("acct-2")])
            let keyText = String(decoding: try #require(try LocalFile.read("\(dir)/registry.key")), as: UTF8.self)
            #expect(Hex.decode(keyText.filter { !$0.isWhitespace }) == raw, "the same key, now in hex")
            #expect(LocalFile.exists("\(dir)/registry.sealed.migrated") && LocalFile.exists("\(dir)/registry.migrated"))
            #expect(!LocalFile.exists("\(dir)/registry") && !LocalFile.exists("\(dir)/registry.sealed"))
            // Later starts read the backend.
            try await registry.update("acct-3") { _ in record("acct-3") }
            registry.close()
            let again = try await AccountRegistry.forTest(dir)
            defer { again.close() }
            #expect(try await again.all().map(\.info.accountID) == ["acct-1", "acct-2", "acct-3"])
        }
    }

    @Test func refusesStateWhoseRootKeyIsMissing() async throws {
        try await withDirectory { dir in
            let registry = try await AccountRegistry.forTest(dir)
            try await registry.update("acct-1") { _ in record("acct-1") }
            registry.close()
            unlink("\(dir)/registry.key")
            var refusal: LocalStateError?
            do { _ = try await AccountRegistry.forTest(dir) } catch let error as LocalStateError { refusal = error }
            #expect(refusal?.message.contains("root key file '\(dir)/registry.key' is missing") == true)
            #expect(!LocalFile.exists("\(dir)/registry.key"), "no fresh key replaces the lost one")
        }
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        return (0...(haystack.count - needle.count)).first { Array(haystack[$0..<($0 + needle.count)]) == needle }
    }
}
