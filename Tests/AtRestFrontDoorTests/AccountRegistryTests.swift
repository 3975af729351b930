import AtRestCrypto
import AtRestKeyVault
import AtRestLocalState
import AtRestStorage
import AtRestWire
import Glibc
import Testing
@testable import AtRestFrontDoor

/// The registry's persistence is `AtRestLocalState` (root key file + sealed
/// file); data directories of earlier releases are migrated, and state whose
/// key is missing is refused rather than replaced.
@Suite(.serialized) struct AccountRegistryTests {
    private func withDirectory(_ body: (String) throws -> Void) throws {
        var template = Array("/tmp/atrest-registry-XXXXXX".utf8CString)
        let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        defer { _ = system("rm -rf '\(dir)'") }
        try body(dir)
    }

    private func withDirectory(_ body: (String) async throws -> Void) async throws {
        var template = Array("/tmp/atrest-registry-XXXXXX".utf8CString)
        let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        defer { _ = system("rm -rf '\(dir)'") }
        try await body(dir)
    }

    private func record(_ id: String) -> AccountRecord {
        let encryption = AccountEncryption(keySource: AccountEncryption.managed, provider: "managed", keyID: "mk-0a1b", keyVersion: 2, changedAtUnix: 7)
        return AccountRecord(info: AccountInfo(accountID: id, tenant: "t1", managedIdentity: "mi_1", createdAtUnix: 5, encryption: encryption, owners: ["usr_1"]),
                             wrappedKey: [1, 2, 3], registered: KeyRef(provider: "managed", keyID: "mk-0a1b", version: 2), managedKeyID: "mk-0a1b")
    }

    @Test func persistsInASealedFileUnderAHexRootKey() async throws {
        try withDirectory { dir in
            let registry = try AccountRegistry(dataDirectory: "\(dir)/fd")
            try registry.update("acct-1") { _ in record("acct-1") }
            let keyText = String(decoding: try #require(try LocalFile.read("\(dir)/fd/registry.key")), as: UTF8.self)
            #expect(keyText.utf8.count == 65 && Hex.decode(String(keyText.dropLast())) != nil)
            #expect(LocalFile.exists("\(dir)/fd/registry.sealed"))
            #expect(!LocalFile.exists("\(dir)/fd/registry"))
            #expect(try AccountRegistry(dataDirectory: "\(dir)/fd").all == [record("acct-1")])
        }
    }

    @Test func migratesARawKeyAndTheObjectStoreRegistry() async throws {
        try await withDirectory { dir in
            // A data directory as the previous release wrote it.
            let raw = try SecureRandom.bytes(32)
            #expect(try LocalFile.createExclusive(raw, at: "\(dir)/registry.key"))
            let store = try ObjectStore(directory: "\(dir)/registry")
            let key = try AccountKey(key: SecretBytes(raw), reference: KeyReference(provider: "frontdoor", keyID: "registry", keyVersion: 1, accountKeyVersion: 1))
            try await store.createContainer(account: "frontdoor", name: "registry", accountKey: key)
            let old = AccountRegistryState(accounts: [record("acct-1"), record("acct-2")])
            try await store.put(account: "frontdoor", container: "registry", name: "accounts", data: old.serialized(), accountKey: key)

            let registry = try AccountRegistry(dataDirectory: dir)
            #expect(registry.all == [record("acct-1"), record("acct-2")])
            let keyText = String(decoding: try #require(try LocalFile.read("\(dir)/registry.key")), as: UTF8.self)
            #expect(Hex.decode(keyText.filter { !$0.isWhitespace }) == raw, "the same key, now in hex")
            #expect(LocalFile.exists("\(dir)/registry.sealed") && LocalFile.exists("\(dir)/registry.migrated"))
            #expect(!LocalFile.exists("\(dir)/registry"))
            // Later starts read the migrated files.
            try registry.update("acct-3") { _ in record("acct-3") }
            #expect(try AccountRegistry(dataDirectory: dir).all.map(\.info.accountID) == ["acct-1", "acct-2", "acct-3"])
        }
    }

    @Test func refusesStateWhoseRootKeyIsMissing() async throws {
        try withDirectory { dir in
            try AccountRegistry(dataDirectory: dir).update("acct-1") { _ in record("acct-1") }
            unlink("\(dir)/registry.key")
            var refusal: LocalStateError?
            do { _ = try AccountRegistry(dataDirectory: dir) } catch let error as LocalStateError { refusal = error }
            #expect(refusal?.message.contains("root key file '\(dir)/registry.key' is missing") == true)
            #expect(!LocalFile.exists("\(dir)/registry.key"), "no fresh key replaces the lost one")
        }
    }
}
