import AtRestCrypto
@testable import AtRestStorage
import Testing

/// Shares, directories, files and their errors on the local backend (real
/// files), two stores on two connections as two workers have.
@Suite struct FileStoreTests {
    static let account = "acct"
    static let MiB: UInt64 = 1 << 20

    static func expectError<T>(_ code: StorageError.Code, _ text: String? = nil, _ body: () async throws -> T,
                               sourceLocation: SourceLocation = #_sourceLocation) async {
        await BackendContract.expectError(code, text, body, sourceLocation: sourceLocation)
    }

    /// Two stores on one data directory, and the directory.
    static func stores(clock: TestClock = TestClock()) throws -> (FileStore, FileStore, TempDirectory) {
        let dir = TempDirectory()
        return (FileStore(backend: try LocalBackend(directory: dir.path), clock: clock.read),
                FileStore(backend: try LocalBackend(directory: dir.path), clock: clock.read), dir)
    }

    /// Every entry of directory `path`, page by page.
    static func entries(_ store: FileStore, _ share: String, _ path: String, _ key: AccountKey, limit: Int = 1000) async throws -> [FileInfo] {
        var out: [FileInfo] = [], continuation: String?
        repeat {
            let page = try await store.listDirectory(account: account, share: share, path: path, continuation: continuation, limit: limit, accountKey: key)
            out += page.entries
            continuation = page.continuation
        } while continuation != nil
        return out
    }

    /// Every entry of directory `path` by name (names compared as bytes: NFC and NFD are two).
    static func names(_ store: FileStore, _ share: String, _ path: String, _ key: AccountKey, limit: Int = 1000) async throws -> [String: FileInfo] {
        var out: [String: FileInfo] = [:]
        for entry in try await entries(store, share, path, key, limit: limit) {
            #expect(out[entry.name] == nil, "\(entry.name) listed twice")
            out[entry.name] = entry
        }
        return out
    }

    /// The bodies that run on every backend (`RadosBackendTests` runs them on RADOS).
    static let bodies: [(String, @Sendable (any StorageBackend, any StorageBackend) async throws -> Void)] = [
        ("shareLifeCycle", shareLifeCycle),
        ("directoriesFilesAndErrors", directoriesFilesAndErrors),
        ("quotaAndUsage", FileStoreDataTests.quotaAndUsage),
        ("inlineGrowsIntoChunks", FileStoreInlineTests.inlineGrowsIntoChunks),
    ]

    @Test(arguments: bodies.map(\.0))
    func contract(_ body: String) async throws {
        try await RecordMapFactory.local.run(body, of: Self.bodies)
    }

    @Sendable static func shareLifeCycle(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        let key = try Fixtures.accountKey(), clock = TestClock()
        let a = FileStore(backend: one, clock: clock.read), b = FileStore(backend: two, clock: clock.read)
        #expect(try await a.listShares(account: Self.account, accountKey: key) == ShareListing(shares: [], continuation: nil))
        for (index, name) in ["team", "home", "archive", "zz9"].enumerated() {
            let info = try await (index % 2 == 0 ? a : b).createShare(account: Self.account, name: name, quota: UInt64(index + 1) * Self.MiB,
                                                                     metadata: ["owner": name], accountKey: key)
            #expect(info == ShareInfo(name: name, quota: UInt64(index + 1) * Self.MiB, usageBytes: 0, files: 0, directories: 0,
                                      creationTime: clock.read(), metadata: ["owner": name]))
        }
        await Self.expectError(.alreadyExists, "share 'home' already exists") {
            try await b.createShare(account: Self.account, name: "home", quota: 1, accountKey: key)
        }
        for bad in ["ab", "Home", "-home", "ho--me", "hö"] {
            await Self.expectError(.invalidArgument, "share name") { try await a.createShare(account: Self.account, name: bad, quota: 1, accountKey: key) }
            await Self.expectError(.invalidArgument, "share name") { try await a.listDirectory(account: Self.account, share: bad, path: "/", accountKey: key) }
        }
        for bad: UInt64 in [0, FileLimits.maxQuota + 1, .max] {
            await Self.expectError(.invalidArgument, "share quota") { try await a.createShare(account: Self.account, name: "quota-test", quota: bad, accountKey: key) }
        }
        try await a.createShare(account: Self.account, name: "petabytes", quota: FileLimits.maxQuota, accountKey: key)
        await Self.expectError(.invalidArgument, "share metadata key") {
            try await a.createShare(account: Self.account, name: "meta", quota: 1, metadata: ["bad key": "x"], accountKey: key)
        }
        let all = try await b.listShares(account: Self.account, accountKey: key)
        #expect(all.shares.map(\.name) == ["archive", "home", "petabytes", "team", "zz9"] && all.continuation == nil)
        let first = try await a.listShares(account: Self.account, limit: 2, accountKey: key)
        #expect(first.shares.map(\.name) == ["archive", "home"] && first.continuation == "home")
        let second = try await a.listShares(account: Self.account, continuation: first.continuation, limit: 2, accountKey: key)
        #expect(second.shares.map(\.name) == ["petabytes", "team"] && second.continuation == "team")
        #expect(try await a.listShares(account: Self.account, prefix: "t", accountKey: key).shares.map(\.name) == ["team"])
        await Self.expectError(.invalidArgument, "1-1000 shares") { try await a.listShares(account: Self.account, limit: 0, accountKey: key) }
        // Another account sees none; another account key (version) reads none.
        #expect(try await a.listShares(account: "other", accountKey: key).shares == [])
        await Self.expectError(.notFound, "share 'home' does not exist in account 'other'") {
            try await a.shareProperties(account: "other", name: "home", accountKey: key)
        }
        let otherKey = try Fixtures.accountKey(KeyReference(provider: "managed", keyID: "kek-1", keyVersion: 2, accountKeyVersion: 1))
        #expect(try await a.listShares(account: Self.account, accountKey: otherKey).shares == [])

        // Quota and metadata; usage counts directories and files.
        clock.advance(seconds: 5)
        let changed = try await a.setShareQuota(account: Self.account, name: "home", quota: 7 * Self.MiB, accountKey: key)
        #expect(changed.quota == 7 * Self.MiB && changed.metadata == ["owner": "home"])
        let tagged = try await b.setShareMetadata(account: Self.account, name: "home", metadata: ["tier": "hot"], accountKey: key)
        #expect(tagged.quota == 7 * Self.MiB && tagged.metadata == ["tier": "hot"])
        await Self.expectError(.invalidArgument, "share quota") { try await a.setShareQuota(account: Self.account, name: "home", quota: 0, accountKey: key) }
        try await a.createDirectory(account: Self.account, share: "home", path: "docs", accountKey: key)
        try await b.createDirectory(account: Self.account, share: "home", path: "/docs/old", accountKey: key)
        try await a.createFile(account: Self.account, share: "home", path: "docs/a.txt", size: 1000, accountKey: key)
        let props = try await b.shareProperties(account: Self.account, name: "home", accountKey: key)
        #expect(props == ShareInfo(name: "home", quota: 7 * Self.MiB, usageBytes: 1000, files: 1, directories: 2,
                                   creationTime: 1_800_000_000_000, metadata: ["tier": "hot"]))

        // Delete (with its tree), then the name is free; the new share is empty.
        try await a.deleteShare(account: Self.account, name: "home", accountKey: key)
        await Self.expectError(.notFound, "share 'home' does not exist") { try await b.shareProperties(account: Self.account, name: "home", accountKey: key) }
        await Self.expectError(.notFound, "share 'home' does not exist") {
            try await b.properties(account: Self.account, share: "home", path: "docs", accountKey: key)
        }
        await Self.expectError(.notFound, "share 'home' does not exist") { try await b.deleteShare(account: Self.account, name: "home", accountKey: key) }
        try await b.createShare(account: Self.account, name: "home", quota: Self.MiB, accountKey: key)
        #expect(try await Self.names(a, "home", "/", key).isEmpty)
        #expect(try await a.shareProperties(account: Self.account, name: "home", accountKey: key).files == 0)
        #expect(try await a.listShares(account: Self.account, accountKey: key).shares.count == 5)
    }

    @Sendable static func directoriesFilesAndErrors(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        let key = try Fixtures.accountKey(), clock = TestClock()
        let a = FileStore(backend: one, clock: clock.read), b = FileStore(backend: two, clock: clock.read)
        try await a.createShare(account: Self.account, name: "tree", quota: Self.MiB, accountKey: key)
        let root = try await a.properties(account: Self.account, share: "tree", path: "/", accountKey: key)
        #expect(root.kind == .directory && root.name == "" && root.mode == 0o755)
        let made = try await a.createDirectory(account: Self.account, share: "tree", path: "src", mode: 0o700, metadata: ["k": "v"], accountKey: key)
        #expect(made == FileInfo(name: "src", kind: .directory, size: 0, mode: 0o700, ctime: clock.read(), mtime: clock.read(), metadata: ["k": "v"]))
        for index in 0..<25 { try await b.createFile(account: Self.account, share: "tree", path: "src/f\(index)", size: UInt64(index), accountKey: key) }
        try await b.createDirectory(account: Self.account, share: "tree", path: "src/sub", accountKey: key)
        // Pages of 7 reach every entry once.
        let listed = try await Self.names(a, "tree", "src", key, limit: 7)
        #expect(listed.count == 26 && listed["f13"]?.size == 13 && listed["f13"]?.kind == .file && listed["sub"]?.kind == .directory)
        #expect(listed["f0"]?.mode == 0o644)
        await Self.expectError(.invalidArgument, "continuation") {
            try await a.listDirectory(account: Self.account, share: "tree", path: "/", continuation: "e-00", accountKey: key)
        }

        // The errors of a tree.
        await Self.expectError(.alreadyExists, "'/src/f3' already exists") { try await a.createFile(account: Self.account, share: "tree", path: "src/f3", accountKey: key) }
        await Self.expectError(.alreadyExists) { try await a.createDirectory(account: Self.account, share: "tree", path: "src/f3", accountKey: key) }
        await Self.expectError(.notFound, "'/nope' does not exist") { try await a.createFile(account: Self.account, share: "tree", path: "nope/x", accountKey: key) }
        await Self.expectError(.notDirectory, "'/src/f3' in share 'tree' is not a directory") {
            try await a.createFile(account: Self.account, share: "tree", path: "src/f3/x", accountKey: key)
        }
        await Self.expectError(.notDirectory) { try await a.listDirectory(account: Self.account, share: "tree", path: "src/f3", accountKey: key) }
        await Self.expectError(.notDirectory) { try await a.deleteDirectory(account: Self.account, share: "tree", path: "src/f3", accountKey: key) }
        await Self.expectError(.isDirectory, "'/src/sub' in share 'tree' is a directory") {
            try await a.deleteFile(account: Self.account, share: "tree", path: "src/sub", accountKey: key)
        }
        await Self.expectError(.isDirectory) { try await a.readFile(account: Self.account, share: "tree", path: "src", offset: 0, length: 1, accountKey: key) }
        await Self.expectError(.notEmpty, "directory '/src' in share 'tree' is not empty") {
            try await a.deleteDirectory(account: Self.account, share: "tree", path: "src", accountKey: key)
        }
        await Self.expectError(.invalidArgument, "root") { try await a.deleteDirectory(account: Self.account, share: "tree", path: "/", accountKey: key) }
        await Self.expectError(.invalidArgument, "root") { try await a.createDirectory(account: Self.account, share: "tree", path: "/", accountKey: key) }
        await Self.expectError(.notFound) { try await a.deleteFile(account: Self.account, share: "tree", path: "src/f99", accountKey: key) }
        await Self.expectError(.invalidArgument, "mode bits") { try await a.createFile(account: Self.account, share: "tree", path: "m", mode: 0o10000, accountKey: key) }
        await Self.expectError(.invalidArgument, "4 TiB") {
            try await a.createFile(account: Self.account, share: "tree", path: "big", size: FileLimits.maxFileSize + 1, accountKey: key)
        }
        await Self.expectError(.resourceExhausted, "share quota of 1048576 bytes exceeded") {
            try await a.createFile(account: Self.account, share: "tree", path: "big", size: Self.MiB, accountKey: key)
        }

        // Attributes.
        clock.advance(seconds: 3)
        let moded = try await b.setMode(account: Self.account, share: "tree", path: "src/f3", mode: 0o600, accountKey: key)
        #expect(moded.mode == 0o600 && moded.ctime == clock.read() && moded.mtime == 1_800_000_000_000 && moded.size == 3)
        let timed = try await a.setTimes(account: Self.account, share: "tree", path: "src/f3", mtime: 42, accountKey: key)
        #expect(timed.mtime == 42 && timed.mode == 0o600)
        // A create that carries its modification time (what cp -a sends): empty, inline and written after the create.
        for (name, bytes) in [("t-empty", [UInt8]()), ("t-inline", [UInt8](repeating: 1, count: 100)), ("t-large", [UInt8](repeating: 2, count: 20_000))] {
            let made = try await a.createFile(account: Self.account, share: "tree", path: "src/\(name)", data: bytes, mtime: 1_234_567,
                                              accountKey: key)
            let seen = try await b.properties(account: Self.account, share: "tree", path: "src/\(name)", accountKey: key)
            #expect(made.mtime == 1_234_567 && seen.mtime == 1_234_567 && seen.size == UInt64(bytes.count), "\(name): \(seen)")
            try await a.deleteFile(account: Self.account, share: "tree", path: "src/\(name)", accountKey: key)  // the usage below stays
        }
        // Two changes within one millisecond (the test clock stands still): the ctime still moves, so a
        // mount comparing (size, mtime, ctime) at open sees the second.
        #expect(timed.ctime > moded.ctime)
        let tagged = try await a.setMetadata(account: Self.account, share: "tree", path: "src", metadata: ["colour": "blue"], accountKey: key)
        #expect(tagged.metadata == ["colour": "blue"] && tagged.kind == .directory)
        clock.advance(seconds: 1)
        #expect(try await b.flushFile(account: Self.account, share: "tree", path: "src/f3", accountKey: key).mtime == clock.read())
        #expect(try await b.properties(account: Self.account, share: "tree", path: "src/f3", accountKey: key).mode == 0o600)

        // Rename: files, replace or not, directories with their subtree.
        try await a.rename(account: Self.account, share: "tree", from: "src/f1", to: "top", accountKey: key)
        #expect(try await b.properties(account: Self.account, share: "tree", path: "top", accountKey: key).size == 1)
        await Self.expectError(.notFound) { try await b.properties(account: Self.account, share: "tree", path: "src/f1", accountKey: key) }
        await Self.expectError(.alreadyExists, "'/src/f2' already exists") {
            try await a.rename(account: Self.account, share: "tree", from: "top", to: "src/f2", replace: false, accountKey: key)
        }
        try await a.rename(account: Self.account, share: "tree", from: "top", to: "src/f2", accountKey: key)
        #expect(try await b.properties(account: Self.account, share: "tree", path: "src/f2", accountKey: key).size == 1)
        await Self.expectError(.isDirectory) { try await a.rename(account: Self.account, share: "tree", from: "src/f2", to: "src/sub", accountKey: key) }
        await Self.expectError(.notDirectory) { try await a.rename(account: Self.account, share: "tree", from: "src/sub", to: "src/f2", accountKey: key) }
        try await a.createFile(account: Self.account, share: "tree", path: "src/sub/deep", size: 5, accountKey: key)
        try await a.rename(account: Self.account, share: "tree", from: "src", to: "lib", accountKey: key)
        #expect(try await b.properties(account: Self.account, share: "tree", path: "lib/sub/deep", accountKey: key).size == 5)
        try await a.createDirectory(account: Self.account, share: "tree", path: "empty", accountKey: key)
        await Self.expectError(.notEmpty) { try await a.rename(account: Self.account, share: "tree", from: "empty", to: "lib", accountKey: key) }
        try await a.rename(account: Self.account, share: "tree", from: "lib/sub", to: "empty", accountKey: key)
        #expect(try await b.properties(account: Self.account, share: "tree", path: "empty/deep", accountKey: key).size == 5)
        await Self.expectError(.invalidArgument, "would move a directory into itself") {
            try await a.rename(account: Self.account, share: "tree", from: "lib", to: "lib/x", accountKey: key)
        }
        try await a.rename(account: Self.account, share: "tree", from: "lib", to: "lib", accountKey: key)

        // Usage counted every step: 24 files (f1 replaced f2), 2 directories.
        let usage = try await a.shareProperties(account: Self.account, name: "tree", accountKey: key)
        #expect(usage.files == 25 && usage.directories == 2, "\(usage)")
        #expect(usage.usageBytes == UInt64((0..<25).reduce(0, +)) - 1 - 2 + 1 + 5 - 1 + 1, "\(usage)")
        // Recursive delete takes everything; the share is as new.
        try await b.deleteDirectory(account: Self.account, share: "tree", path: "lib", recursive: true, accountKey: key)
        try await b.deleteDirectory(account: Self.account, share: "tree", path: "empty", recursive: true, accountKey: key)
        #expect(try await Self.names(a, "tree", "/", key).isEmpty)
        let empty = try await a.shareProperties(account: Self.account, name: "tree", accountKey: key)
        #expect(empty.files == 0 && empty.directories == 0 && empty.usageBytes == 0)
    }

    /// Names are kept as given (no normalisation); the bad ones get a clear error.
    @Test func unicodeAndBadNames() async throws {
        let key = try Fixtures.accountKey()
        let (a, b, dir) = try Self.stores()
        defer { dir.remove() }
        try await a.createShare(account: Self.account, name: "names", quota: Self.MiB, accountKey: key)
        let nfc = "caf\u{E9}", nfd = "cafe\u{301}", emoji = "📁 dossier 🦔", long = String(repeating: "é", count: 127) + "x"
        #expect(long.utf8.count == 255)
        for name in [nfc, nfd, emoji, long, "spaces and\ttabs", "back\\slash", "日本語のファイル"] {
            try await a.createFile(account: Self.account, share: "names", path: name, size: 3, accountKey: key)
        }
        try await a.createDirectory(account: Self.account, share: "names", path: emoji + "d", accountKey: key)
        try await a.createFile(account: Self.account, share: "names", path: "/\(emoji)d/\(nfd)", accountKey: key)
        let listed = try await Self.entries(b, "names", "/", key)
        #expect(listed.count == 8)
        #expect(Set(listed.map { Array($0.name.utf8) }) == Set([nfc, nfd, emoji, long, "spaces and\ttabs", "back\\slash", "日本語のファイル", emoji + "d"].map { Array($0.utf8) }))
        #expect(try await b.properties(account: Self.account, share: "names", path: nfd, accountKey: key).name.utf8.elementsEqual(nfd.utf8))
        try await b.deleteFile(account: Self.account, share: "names", path: nfc, accountKey: key)
        #expect(try await b.properties(account: Self.account, share: "names", path: nfd, accountKey: key).size == 3)
        // Renaming the NFD spelling to the NFC one is a move, not a rename to itself.
        try await a.rename(account: Self.account, share: "names", from: nfd, to: nfc, accountKey: key)
        await Self.expectError(.notFound) { try await b.properties(account: Self.account, share: "names", path: nfd, accountKey: key) }
        #expect(try await b.properties(account: Self.account, share: "names", path: nfc, accountKey: key).name.utf8.elementsEqual(nfc.utf8))

        let deep = (0..<2048).map { _ in "a" }.joined(separator: "/")
        for (bad, message) in [(".", "cannot be '.' or '..'"), ("..", "cannot be '.' or '..'"), ("a/../b", "cannot be '.' or '..'"),
                               ("a\u{0}b", "NUL"), (String(repeating: "x", count: 256), "1-255 bytes"), ("a//b", "empty component"),
                               ("a/", "empty component"), (deep + "/b", "at most 4096 bytes")] {
            await Self.expectError(.invalidArgument, message) { try await a.createFile(account: Self.account, share: "names", path: bad, accountKey: key) }
        }
        #expect((deep + "/b").utf8.count == 4097)
        // The longest path is fine (where the directories exist): 4096 bytes.
        await Self.expectError(.notFound, "'/a' does not exist") { try await a.createFile(account: Self.account, share: "names", path: deep, accountKey: key) }
        for empty in ["", "/"] {
            await Self.expectError(.invalidArgument, "names the root directory") {
                try await a.createFile(account: Self.account, share: "names", path: empty, accountKey: key)
            }
        }
        await Self.expectError(.invalidArgument, "'.' or '..'") { try await a.rename(account: Self.account, share: "names", from: nfd, to: "..", accountKey: key) }
        await Self.expectError(.invalidArgument, "NUL") { try await a.createDirectory(account: Self.account, share: "names", path: "x\u{0}", accountKey: key) }
    }
}
