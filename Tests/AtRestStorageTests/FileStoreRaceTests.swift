import AtRestCrypto
@testable import AtRestStorage
import Testing

/// Races of tree verbs, made to happen at the moment that matters by
/// running one verb from inside the backend call of the other (just before
/// its batch applies), and also left to chance many times over.
@Suite struct FileStoreRaceTests {
    static let account = FileStoreTests.account

    /// Checks the whole tree of `share` as stored: every entry sits in a
    /// directory that exists and names an inode whose parent is that
    /// directory; every inode is reached from the root exactly once (no
    /// cycle, nothing cut off). Returns the paths reached, with their kinds.
    @discardableResult
    static func checkTree(_ store: FileStore, _ share: String, _ key: AccountKey,
                          sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: FileKind] {
        let s = try await store.share(account, share, key)
        let records = try #require(try await store.backend.allRecords(s.tree))
        var inodes: [[UInt8]: InodeRecord] = [:], children: [[UInt8]: [(String, [UInt8])]] = [:]
        for record in records where record.key.hasPrefix("n-") {
            let id = try #require(Hex.decode(String(record.key.dropFirst(2))))
            inodes[id] = try store.node(id, record.value, s, key).record
        }
        for record in records where record.key.hasPrefix("e-") {
            let parent = try #require(Hex.decode(String(record.key.dropFirst(2).prefix(32))))
            let entry = try EntryRecord(decoding: try store.open(record.value, "file-entry", s, record.key, key))
            #expect(inodes[parent]?.kind == .directory, "an entry in a directory that does not exist", sourceLocation: sourceLocation)
            #expect(inodes[entry.child]?.parent == parent, "entry \(entry.name) names an inode of another directory", sourceLocation: sourceLocation)
            children[parent, default: []].append((entry.name, entry.child))
        }
        var reached: [String: FileKind] = [:], seen: Set<[UInt8]> = [InodeRecord.rootID], queue = [("", InodeRecord.rootID)]
        while let (path, id) = queue.popLast() {
            for (name, child) in children[id] ?? [] {
                #expect(seen.insert(child).inserted, "inode reached twice (a cycle or a second entry)", sourceLocation: sourceLocation)
                reached[path + "/" + name] = inodes[child]?.kind
                if inodes[child]?.kind == .directory { queue.append((path + "/" + name, child)) }
            }
        }
        #expect(seen.count == inodes.count, "\(inodes.count - seen.count) inodes are not reached from the root", sourceLocation: sourceLocation)
        let usage = try await store.shareProperties(account: account, name: share, accountKey: key)
        #expect(usage.directories == UInt64(inodes.values.count { $0.kind == .directory } - 1), sourceLocation: sourceLocation)
        #expect(usage.files == UInt64(inodes.values.count { $0.kind == .file }), sourceLocation: sourceLocation)
        #expect(usage.usageBytes == inodes.values.reduce(0) { $0 + $1.size }, sourceLocation: sourceLocation)
        return reached
    }

    static func setUp(_ paths: [String]) async throws -> (FileStore, FileStore, HookedBackend, AccountKey, TempDirectory) {
        let key = try Fixtures.accountKey()
        let dir = TempDirectory()
        let hooked = HookedBackend(try LocalBackend(directory: dir.path))
        let racer = FileStore(backend: hooked), other = FileStore(backend: try LocalBackend(directory: dir.path))
        try await other.createShare(account: account, name: "race", quota: 1 << 30, accountKey: key)
        for path in paths { try await other.createDirectory(account: account, share: "race", path: path, accountKey: key) }
        return (racer, other, hooked, key, dir)
    }

    /// A directory moved into its own subtree (directly or deeper) is refused; nothing changes.
    @Test func renameIntoOwnSubtreeIsRefused() async throws {
        let (store, _, _, key, dir) = try await Self.setUp(["a", "a/b", "a/b/c"])
        defer { dir.remove() }
        for (from, to) in [("a", "a/b/c/a"), ("a", "a/x"), ("a/b", "a/b/c/b"), ("a/b", "a/b/x")] {
            await FileStoreTests.expectError(.invalidArgument, "would move a directory into itself") {
                try await store.rename(account: Self.account, share: "race", from: from, to: to, accountKey: key)
            }
        }
        #expect(try await Self.checkTree(store, "race", key) == ["/a": .directory, "/a/b": .directory, "/a/b/c": .directory])
    }

    /// RENAME_EXCHANGE: two files (their contents follow), a file and a
    /// directory in different directories; a directory exchanged with
    /// something inside it is refused; the tree stays whole.
    @Test func exchange() async throws {
        let (store, other, _, key, dir) = try await Self.setUp(["a", "b", "b/sub"])
        defer { dir.remove() }
        for (path, seed) in [("a/x", 1), ("b/y", 2), ("b/sub/z", 3)] {
            try await other.createFile(account: Self.account, share: "race", path: path, accountKey: key)
            try await other.writeFile(account: Self.account, share: "race", path: path, offset: 0, data: Fixtures.data(100 * seed, seed: UInt8(seed)), accountKey: key)
        }
        func read(_ path: String) async throws -> [UInt8] {
            try await other.readFile(account: Self.account, share: "race", path: path, offset: 0, length: 1000, accountKey: key)
        }
        try await store.exchange(account: Self.account, share: "race", "a/x", "b/y", accountKey: key)
        #expect(try await read("a/x") == Fixtures.data(200, seed: 2))
        #expect(try await read("b/y") == Fixtures.data(100, seed: 1))
        try await store.exchange(account: Self.account, share: "race", "a/x", "b/sub", accountKey: key)
        #expect(try await read("b/sub") == Fixtures.data(200, seed: 2))
        #expect(try await read("a/x/z") == Fixtures.data(300, seed: 3))
        for (one, two) in [("b", "b/sub"), ("a/x/z", "a")] {
            await FileStoreTests.expectError(.invalidArgument, "would move a directory into itself") {
                try await store.exchange(account: Self.account, share: "race", one, two, accountKey: key)
            }
        }
        await FileStoreTests.expectError(.notFound) { try await store.exchange(account: Self.account, share: "race", "a/x", "nope", accountKey: key) }
        try await store.exchange(account: Self.account, share: "race", "a/x", "a/x", accountKey: key)
        #expect(try await Self.checkTree(other, "race", key)
                == ["/a": .directory, "/b": .directory, "/a/x": .directory, "/a/x/z": .file, "/b/sub": .file, "/b/y": .file])
    }

    /// /p/A moved under /q/B/C while /q/B is moved under /p/A/D: each alone
    /// is fine, together they would make a cycle (A under B under A) cut off
    /// from the root. The second runs just before the first's batch: the
    /// first's ancestor conditions (on C, B, q, the root) fail and it is
    /// refused on its second try; the tree stays whole.
    @Test func racingRenamesNeverMakeACycle() async throws {
        let (racer, other, hooked, key, dir) = try await Self.setUp(["p", "q", "p/A", "p/A/D", "q/B", "q/B/C"])
        defer { dir.remove() }
        let s = try await other.share(Self.account, "race", key)
        let a = try await other.resolve(try FilePath("p/A"), s, key).node
        hooked.beforeApplying(where: { _, batch in batch.sets[a.key] != nil }) {
            try await other.rename(account: Self.account, share: "race", from: "q/B", to: "p/A/D/B", accountKey: key)
        }
        await FileStoreTests.expectError(.notFound, "'/q/B' does not exist") {
            try await racer.rename(account: Self.account, share: "race", from: "p/A", to: "q/B/C/A", accountKey: key)
        }
        #expect(hooked.ran, "the other rename did not run where the race happens")
        #expect(try await Self.checkTree(other, "race", key)
                == ["/p": .directory, "/q": .directory, "/p/A": .directory, "/p/A/D": .directory, "/p/A/D/B": .directory, "/p/A/D/B/C": .directory])

        // Left to chance: two tasks, many times, A under B and B under A.
        for round in 0..<40 {
            let (one, two) = ("x\(round)", "y\(round)")
            for name in [one, two] { try await other.createDirectory(account: Self.account, share: "race", path: name, accountKey: key) }
            async let first: Bool = (try? await racer.rename(account: Self.account, share: "race", from: one, to: "\(two)/\(one)", accountKey: key)) != nil
            async let second: Bool = (try? await other.rename(account: Self.account, share: "race", from: two, to: "\(one)/\(two)", accountKey: key)) != nil
            let (moved1, moved2) = await (first, second)
            #expect(moved1 != moved2, "round \(round): both or neither rename succeeded")
        }
        let paths = try await Self.checkTree(other, "race", key)
        #expect(paths.count == 6 + 80)
    }

    /// rmdir and a create in that directory, each run inside the other's
    /// last step: never an entry left in a removed directory.
    @Test func rmdirRacingCreate() async throws {
        let (racer, other, hooked, key, dir) = try await Self.setUp(["d", "e"])
        defer { dir.remove() }
        let s = try await other.share(Self.account, "race", key)
        // The rmdir runs just before the create's batch: the create fails its
        // condition (the directory's inode is gone), tries again and finds no directory.
        let d = try await other.resolve(try FilePath("d"), s, key).node
        hooked.beforeApplying(where: { _, batch in batch.sets.keys.contains { $0.hasPrefix(FileStore.entryPrefix(d.id)) } }) {
            try await other.deleteDirectory(account: Self.account, share: "race", path: "d", accountKey: key)
        }
        await FileStoreTests.expectError(.notFound, "'/d' does not exist") {
            try await racer.createFile(account: Self.account, share: "race", path: "d/f", accountKey: key)
        }
        #expect(hooked.ran)
        #expect(try await Self.checkTree(other, "race", key) == ["/e": .directory])

        // The create runs just before the rmdir's batch: the rmdir fails its
        // condition (the directory's inode was rewritten), tries again and finds it not empty.
        let e = try await other.resolve(try FilePath("e"), s, key).node
        hooked.beforeApplying(where: { _, batch in batch.removes.contains(e.key) }) {
            try await other.createFile(account: Self.account, share: "race", path: "e/f", accountKey: key)
        }
        await FileStoreTests.expectError(.notEmpty, "directory '/e' in share 'race' is not empty") {
            try await racer.deleteDirectory(account: Self.account, share: "race", path: "e", accountKey: key)
        }
        #expect(hooked.ran)
        #expect(try await Self.checkTree(other, "race", key) == ["/e": .directory, "/e/f": .file])

        // Left to chance, many times.
        for round in 0..<40 {
            try await other.createDirectory(account: Self.account, share: "race", path: "r\(round)", accountKey: key)
            async let removed: Bool = (try? await racer.deleteDirectory(account: Self.account, share: "race", path: "r\(round)", accountKey: key)) != nil
            async let created: Bool = (try? await other.createFile(account: Self.account, share: "race", path: "r\(round)/f", accountKey: key)) != nil
            let (rmdir, create) = await (removed, created)
            #expect(rmdir != create, "round \(round): rmdir \(rmdir), create \(create)")
        }
        try await Self.checkTree(other, "race", key)
    }
}
