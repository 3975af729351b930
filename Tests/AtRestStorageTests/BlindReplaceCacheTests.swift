import Testing
@testable import AtRestStorage

/// `BlindReplaceCache`: names in and out, bounded by emptying at capacity;
/// a local store never fills it (its backend has no `blindReplaceLimit`).
@Suite struct BlindReplaceCacheTests {
    @Test func namesInAndOutAndEmptiedAtCapacity() throws {
        let cache = BlindReplaceCache()
        let container = try BackendContainer("a-cache/c-one")
        let names = try (0...BlindReplaceCache.capacity).map { try BackendName(container, "o-\($0)") }
        cache.insert(names[0])
        #expect(cache.contains(names[0]))
        #expect(!cache.contains(names[1]))
        cache.remove(names[0])
        #expect(!cache.contains(names[0]))
        for name in names.dropLast() { cache.insert(name) }
        #expect(cache.contains(names[0]) && cache.contains(names[BlindReplaceCache.capacity - 1]))
        cache.insert(names[0])  // already there: nothing is dropped
        #expect(cache.contains(names[1]))
        cache.insert(names.last!)  // one more than it holds: emptied first
        #expect(cache.contains(names.last!))
        #expect(!cache.contains(names[0]) && !cache.contains(names[BlindReplaceCache.capacity - 1]))
    }

    @Test func localStorePutsDoNotFillIt() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let key = try Fixtures.accountKey()
        let store = try ObjectStore(directory: dir.path)
        #expect(store.backend.blindReplaceLimit == nil)
        try await store.createContainer(account: "acct", name: "docs", accountKey: key)
        for round in 0..<2 {
            _ = try await store.put(account: "acct", container: "docs", name: "n", data: Fixtures.data(4096, seed: UInt8(round)), accountKey: key)
        }
        let name = try store.objectName(try store.containerID("acct", "docs", key), try store.objectHash("docs", "n", key))
        #expect(!store.blindReplaceable.contains(name))
        #expect(try await store.get(account: "acct", container: "docs", name: "n", accountKey: key).data == Fixtures.data(4096, seed: 1))
    }
}
