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

/// `ObjectStore.reencrypt`: old-version objects and block lists are
/// rewritten under the current version, current ones left alone, pages resume.
@Suite struct ObjectStoreReencryptTests {
    @Test func rewritesOldVersionsInPagesAndLeavesCurrentOnes() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let store = try ObjectStore(directory: dir.path)
        let v1 = try AccountKey(key: SecretBytes(randomCount: 32), reference: AccountKeyVersionTests.reference(1))
        try await store.createContainer(account: "acct", name: "docs", accountKey: v1)
        var expected: [String: [UInt8]] = [:]
        for index in 0..<5 {
            let data = Fixtures.data(index * 30_000, seed: UInt8(index))
            _ = try await store.put(account: "acct", container: "docs", name: "n\(index)", data: data, accountKey: v1)
            expected["n\(index)"] = data
        }
        _ = try await store.stageBlock(account: "acct", container: "docs", name: "list", blockID: [1], data: Fixtures.data(70_000), accountKey: v1)
        _ = try await store.stageBlock(account: "acct", container: "docs", name: "list", blockID: [2], data: [9, 9], accountKey: v1)
        _ = try await store.commitBlocks(account: "acct", container: "docs", name: "list", blockIDs: [[1], [2]], accountKey: v1)
        expected["list"] = Fixtures.data(70_000) + [9, 9]

        let v2 = try AccountKey(key: SecretBytes(randomCount: 32), reference: AccountKeyVersionTests.reference(2),
                                nameKey: AccountKey.nameKey(derivedFrom: v1.key)).adding([v1])
        _ = try await store.put(account: "acct", container: "docs", name: "n0", data: expected["n0"]!, accountKey: v2)  // already current
        var token: String?
        var rewritten = 0, objects = 0, pages = 0
        repeat {
            let page = try await store.reencrypt(account: "acct", container: "docs", pageToken: token, maxObjects: 2, accountKey: v2)
            rewritten += page.rewritten
            objects += page.objects
            pages += 1
            token = page.nextPageToken
        } while token != nil
        #expect(objects == 6 && rewritten == 5 && pages == 3)
        // Everything now opens with version 2 alone (the same name key), byte-exact.
        let v2Only = try AccountKey(key: v2.key, reference: AccountKeyVersionTests.reference(2), nameKey: AccountKey.nameKey(derivedFrom: v1.key))
        for (name, data) in expected {
            #expect(try await store.get(account: "acct", container: "docs", name: name, accountKey: v2Only).data == data, "\(name)")
        }
        let again = try await store.reencrypt(account: "acct", container: "docs", maxObjects: 100, accountKey: v2)
        #expect(again.objects == 6 && again.rewritten == 0)
    }

    /// Objects under a scope's version stay under it (re-encryption moves the own
    /// chain's older versions only); objects with the infrastructure layer are
    /// rewritten with the layer kept.
    @Test func leavesScopeVersionsAndKeepsTheInfrastructureLayer() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let store = try ObjectStore(directory: dir.path)
        let layer = try InfrastructureKey(key: SecretBytes(randomCount: 32), accountKeyVersion: 2)
        let v1 = try AccountKey(key: SecretBytes(randomCount: 32), reference: AccountKeyVersionTests.reference(1)).withInfrastructure(layer)
        let names = try AccountKey.nameKey(derivedFrom: v1.key)
        let scope = try AccountKey(key: SecretBytes(randomCount: 32), reference: AccountKeyVersionTests.reference(3), nameKey: names)
        try await store.createContainer(account: "acct", name: "docs", accountKey: v1)
        let own = Fixtures.data(70_000, seed: 1), scoped = Fixtures.data(5_000, seed: 2)
        _ = try await store.put(account: "acct", container: "docs", name: "own", data: own, accountKey: v1)
        _ = try await store.put(account: "acct", container: "docs", name: "scoped", data: scoped,
                                accountKey: try v1.adding([scope]).sealing(version: 3))

        let v4 = try AccountKey(key: SecretBytes(randomCount: 32), reference: AccountKeyVersionTests.reference(4), nameKey: names)
            .adding([v1, scope]).withInfrastructure(layer)
        let page = try await store.reencrypt(account: "acct", container: "docs", migrating: [1], accountKey: v4)
        #expect(page.rewritten == 1 && page.skipped == 0)
        let read = try await store.get(account: "acct", container: "docs", name: "own", accountKey: v4)
        #expect(read.data == own)
        // Under version 4 now, with the layer: the key without the layer cannot open it.
        await #expect { _ = try await store.get(account: "acct", container: "docs", name: "own",
                                                accountKey: v4.withInfrastructure(nil)) } throws: { error in
            (error as? StorageError)?.code == .wrongKey
        }
        // The scoped object is still under version 3: without the scope key it does not open.
        #expect(try await store.get(account: "acct", container: "docs", name: "scoped", accountKey: v4).data == scoped)
        let withoutScope = try AccountKey(key: v4.key, reference: AccountKeyVersionTests.reference(4), nameKey: names)
            .adding([v1]).withInfrastructure(layer)
        await #expect { _ = try await store.get(account: "acct", container: "docs", name: "scoped", accountKey: withoutScope) } throws: { error in
            (error as? StorageError)?.code == .wrongKey
        }
    }

    /// Blocks staged before a rotation and committed after it: the commit
    /// moves them to the current version (the walk may have passed the
    /// container already, and retiring version 1 would strand them); a
    /// block list committed by a build that did not (current manifest,
    /// version 1 blocks) is moved by the re-encryption walk; after the
    /// retire a version 1 staging is refused at commit, with what to do, and
    /// block garbage collection removes it whatever its age.
    @Test func blocksStagedBeforeARotationEndUpUnderTheCurrentVersion() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let store = try ObjectStore(directory: dir.path)
        let v1 = try AccountKey(key: SecretBytes(randomCount: 32), reference: AccountKeyVersionTests.reference(1))
        let names = try AccountKey.nameKey(derivedFrom: v1.key)
        try await store.createContainer(account: "acct", name: "docs", accountKey: v1)
        let a = Fixtures.data(70_000, seed: 4), b = Fixtures.data(3, seed: 5)
        for name in ["late", "legacy", "stranded"] {
            _ = try await store.stageBlock(account: "acct", container: "docs", name: name, blockID: [1], data: a, accountKey: v1)
            _ = try await store.stageBlock(account: "acct", container: "docs", name: name, blockID: [2], data: b, accountKey: v1)
        }
        // The rotation.
        let v2 = try AccountKey(key: SecretBytes(randomCount: 32), reference: AccountKeyVersionTests.reference(2), nameKey: names).adding([v1])
        let v2Only = try AccountKey(key: v2.key, reference: AccountKeyVersionTests.reference(2), nameKey: names)
        _ = try await store.commitBlocks(account: "acct", container: "docs", name: "late", blockIDs: [[1], [2], [1]], migrating: [1], accountKey: v2)
        #expect(try await store.get(account: "acct", container: "docs", name: "late", accountKey: v2Only).data == a + b + a,
                "every block, the repeated one too, is under version 2")
        // Committed without moving its blocks (as an earlier build did): version 2 alone cannot read it ...
        _ = try await store.commitBlocks(account: "acct", container: "docs", name: "legacy", blockIDs: [[1], [2]], accountKey: v2)
        await #expect { _ = try await store.get(account: "acct", container: "docs", name: "legacy", accountKey: v2Only) } throws: { error in
            (error as? StorageError)?.code == .wrongKey
        }
        // ... until the walk looks inside the current block list.
        let page = try await store.reencrypt(account: "acct", container: "docs", migrating: [1], accountKey: v2)
        #expect(page.objects == 2 && page.rewritten == 1 && page.skipped == 0, "\(page)")
        #expect(try await store.get(account: "acct", container: "docs", name: "legacy", accountKey: v2Only).data == a + b)
        #expect(try await store.reencrypt(account: "acct", container: "docs", migrating: [1], accountKey: v2).rewritten == 0)

        // Version 1 retired: "stranded"'s stagings cannot be committed, and say so.
        await #expect { _ = try await store.commitBlocks(account: "acct", container: "docs", name: "stranded", blockIDs: [[1]],
                                                         migrating: [1], accountKey: v2Only) } throws: { error in
            let error = error as? StorageError
            return error?.code == .invalidArgument && error?.message.contains("stage it again") == true
        }
        // Garbage collection removes the two, young as they are; nothing live goes.
        #expect(try await store.collectGarbage(account: "acct", container: "docs", retentionSeconds: 3600, accountKey: v2Only) == 2)
        _ = try await store.stageBlock(account: "acct", container: "docs", name: "stranded", blockID: [1], data: b, accountKey: v2Only)
        _ = try await store.commitBlocks(account: "acct", container: "docs", name: "stranded", blockIDs: [[1]], accountKey: v2Only)
        for (name, data) in ["late": a + b + a, "legacy": a + b, "stranded": b] {
            #expect(try await store.get(account: "acct", container: "docs", name: name, accountKey: v2Only).data == data, "\(name)")
        }
    }

    /// A block list garbage collection cannot read stops the run before
    /// anything is removed: its blocks would otherwise look unnamed.
    @Test func garbageCollectionStopsAtABlockListItCannotRead() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let store = try ObjectStore(directory: dir.path)
        let v1 = try AccountKey(key: SecretBytes(randomCount: 32), reference: AccountKeyVersionTests.reference(1))
        let v2Only = try AccountKey(key: SecretBytes(randomCount: 32), reference: AccountKeyVersionTests.reference(2),
                                    nameKey: AccountKey.nameKey(derivedFrom: v1.key))
        try await store.createContainer(account: "acct", name: "docs", accountKey: v1)
        _ = try await store.stageBlock(account: "acct", container: "docs", name: "list", blockID: [1], data: [1, 2, 3], accountKey: v1)
        _ = try await store.commitBlocks(account: "acct", container: "docs", name: "list", blockIDs: [[1]], accountKey: v1)
        _ = try await store.stageBlock(account: "acct", container: "docs", name: "orphan", blockID: [1], data: [4], accountKey: v1)
        await #expect { _ = try await store.collectGarbage(account: "acct", container: "docs", retentionSeconds: 0, accountKey: v2Only) } throws: { error in
            (error as? StorageError)?.message.contains("no block file was removed") == true
        }
        #expect(try await store.get(account: "acct", container: "docs", name: "list", accountKey: v1).data == [1, 2, 3])
        #expect(try await store.collectGarbage(account: "acct", container: "docs", retentionSeconds: 0, accountKey: v1) == 1, "only the orphan")
        #expect(try await store.get(account: "acct", container: "docs", name: "list", accountKey: v1).data == [1, 2, 3])
    }
}

