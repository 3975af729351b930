import Testing
import AtRestCrypto
@testable import AtRestStorage

/// Account key rotation in the store: a key opening several versions reads
/// objects and records of each, writes under the current one, and keeps the
/// name key of the first version so names on disk stay where they were.
@Suite struct AccountKeyVersionTests {
    static func reference(_ version: UInt32) -> KeyReference {
        KeyReference(provider: "managed", keyID: "k", keyVersion: 1, accountKeyVersion: version)
    }

    @Test func rotatedKeyReadsOldObjectsWritesNewAndKeepsNames() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let store = try ObjectStore(directory: dir.path)
        let v1 = try AccountKey(key: SecretBytes(randomCount: 32), reference: Self.reference(1))
        try await store.createContainer(account: "acct", name: "docs", accountKey: v1)
        let old = Fixtures.data(70_000, seed: 3)
        _ = try await store.put(account: "acct", container: "docs", name: "old.bin", data: old, accountKey: v1)

        let aek2 = try SecretBytes(randomCount: 32)
        let v2 = try AccountKey(key: aek2, reference: Self.reference(2), nameKey: AccountKey.nameKey(derivedFrom: v1.key)).adding([v1])
        #expect(v2.versions == [1, 2])
        #expect(try v2.hashName(["account", "acct"]) == (try v1.hashName(["account", "acct"])), "the name key survives rotation")
        #expect(try await store.get(account: "acct", container: "docs", name: "old.bin", accountKey: v2).data == old)
        let new = Fixtures.data(1000, seed: 9)
        _ = try await store.put(account: "acct", container: "docs", name: "new.bin", data: new, accountKey: v2)
        #expect(try await store.list(account: "acct", container: "docs", accountKey: v2).objects.map(\.name) == ["new.bin", "old.bin"])
        // A metadata change of an old object keeps it readable (it stays under its version).
        _ = try await store.setMetadata(account: "acct", container: "docs", name: "old.bin", userMetadata: ["k": "v"], accountKey: v2)
        #expect(try await store.get(account: "acct", container: "docs", name: "old.bin", accountKey: v2).data == old)

        // The new object is under version 2: version 1 alone cannot open it (wrongKey, not an integrity error) ...
        await #expect { _ = try await store.get(account: "acct", container: "docs", name: "new.bin", accountKey: v1) } throws: { error in
            (error as? StorageError)?.code == .wrongKey
        }
        // ... nor can version 2 without version 1 open the old one.
        let v2Only = try AccountKey(key: aek2, reference: Self.reference(2), nameKey: AccountKey.nameKey(derivedFrom: v1.key))
        await #expect { _ = try await store.get(account: "acct", container: "docs", name: "old.bin", accountKey: v2Only) } throws: { error in
            (error as? StorageError)?.code == .wrongKey
        }
        #expect(throws: StorageError.self) { _ = try v2Only.opening(version: 1) }
        #expect(try v2Only.opening(version: 2).checkValue == v2.checkValue)
    }
}
