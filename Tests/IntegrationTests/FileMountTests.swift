import AtRestClient
import AtRestMessaging
import AtRestTesting
import AtRestWire
import Foundation
import Glibc
import Synchronization
import Testing

private let fuseAvailable = FileManager.default.fileExists(atPath: "/dev/fuse") && geteuid() == 0
private let noFUSE = "the share mount tests need /dev/fuse and root"

/// `atrest mount` on real processes (LocalCluster, two workers) and a real
/// FUSE mount: ordinary tools (cp -a, rsync -a, diff -r, git, tar, sqlite3
/// in WAL mode), fsx-style random operations against a reference file, the
/// errno of each refusal, a worker SIGKILLed during a copy, key revocation
/// and restoration without remounting, and no plaintext in the storage.
@Suite("atrest mount on a real FUSE mount", .serialized, .enabled(if: fuseAvailable, Comment(rawValue: noFUSE)))
struct FileMountTests {
    /// A cluster with account `m-acct`, share `docs` (alice, tenant t1) mounted at `<root>/mnt` by `atrest mount --user alice`.
    final class MountedShare: @unchecked Sendable {
        let cluster: LocalCluster
        let mountpoint: String
        let files: FileClient
        let alice: [String: String]
        private(set) var process: ServiceProcess?

        init(mountArguments: [String] = []) async throws {
            cluster = try LocalCluster.blobCluster()
            do {
                try await cluster.waitForWorkers(count: 2)
                (alice, _) = try await cluster.bootstrapUsers()
                _ = try await cluster.client.call("atrest.v1.Account/Create", request: AccountCreateRequest(accountID: "m-acct"), as: AccountInfo.self,
                                                  metadata: alice)
                let token = try await cluster.token(tenant: "t1", "alice", "alice-secret-123456")
                files = FileClient(ServiceClient(rpc: cluster.client, token: token), account: "m-acct")
                try await files.createShare("docs", quota: 2 << 30)
                mountpoint = "\(cluster.root)/mnt"
                try FileManager.default.createDirectory(atPath: mountpoint, withIntermediateDirectories: true)
                try "alice-secret-123456".write(toFile: "\(cluster.root)/alice.secret", atomically: true, encoding: .utf8)
                process = try ServiceProcess("atrest", [
                    "mount", "m-acct/docs", mountpoint, "--tenant", "t1", "--user", "alice", "--secret-file", "\(cluster.root)/alice.secret",
                    "--endpoint", cluster.frontDoor.endpoint, "--call-timeout", "30",
                ] + mountArguments, environment: ["ATREST_CONFIG": "\(cluster.root)/cli-none/config.json"])
            } catch {
                cluster.stop()
                throw error
            }
        }

        /// SIGTERM to the mount (it unmounts) and the cluster stopped; the exit status (nil: killed).
        @discardableResult
        func stop() -> Int32? {
            let status = process?.terminate(timeout: .seconds(30))
            process = nil
            if isMounted(mountpoint) { _ = shell("/usr/bin/umount", ["-l", mountpoint]) }
            cluster.stop()
            return status
        }

        deinit { stop() }
    }

    // MARK: tools

    @Test func ordinaryToolsWorkOnAMountedShare() async throws {
        let share = try await MountedShare()
        defer { share.stop() }
        let work = "\(share.cluster.root)/work"
        let mnt = share.mountpoint
        #expect(isMounted(mnt))
        var started = ContinuousClock.now
        /// Where the time goes (printed, never asserted).
        func phase(_ name: String) {
            print("FileMountTests: \(name) took \(ContinuousClock.now - started)")
            started = ContinuousClock.now
        }

        // 2,000+ files, nested 7 levels, Unicode names, sizes 0 B – 4 MiB: cp -a in, diff -r, rsync -a out, diff -r.
        let tree = "\(work)/tree"
        let (count, bytes) = try generateTree(at: tree, seed: 0xF11E_5EED)
        #expect(count >= 2000 && bytes > 50 << 20)
        phase("generating \(count) files, \(bytes >> 20) MiB")
        let copyIn = shell("/bin/cp", ["-a", tree, mnt + "/tree"])
        #expect(copyIn.status == 0, "cp -a into the mount: \(copyIn.output.prefix(2000))")
        let inside = shell("/usr/bin/diff", ["-r", tree, mnt + "/tree"])
        #expect(inside.status == 0 && inside.output.isEmpty, "diff -r against the mount: \(inside.output.prefix(2000))")
        phase("cp -a in, diff -r")
        let out = "\(work)/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let copyOut = shell("/usr/bin/rsync", ["-a", mnt + "/tree", out + "/"])
        #expect(copyOut.status == 0, "rsync -a out of the mount: \(copyOut.output.prefix(2000))")
        let outside = shell("/usr/bin/diff", ["-r", tree, out + "/tree"])
        #expect(outside.status == 0 && outside.output.isEmpty, "diff -r after rsync -a: \(outside.output.prefix(2000))")
        phase("rsync -a out, diff -r")
        // Modes survive; modification times to the millisecond (what the share keeps).
        for file in try FileManager.default.subpathsOfDirectory(atPath: tree).filter({ $0.hasSuffix(".bin") }).prefix(200) {
            let original = try FileManager.default.attributesOfItem(atPath: tree + "/" + file)
            let mounted = try FileManager.default.attributesOfItem(atPath: mnt + "/tree/" + file)
            #expect(mounted[.posixPermissions] as? Int == original[.posixPermissions] as? Int, "mode of \(file)")
            let a = (original[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0, b = (mounted[.modificationDate] as? Date)?.timeIntervalSince1970 ?? -1
            #expect(abs(a - b) < 0.002, "mtime of \(file): \(a) vs \(b)")
        }
        // The service sees the same tree (the client, not the mount).
        let listed = try await share.files.listAll("docs", "tree")
        #expect(Set(listed.map(\.name)) == Set(try FileManager.default.contentsOfDirectory(atPath: tree)))

        // git: a repository of a few hundred files, committed, fsck clean.
        let repo = mnt + "/repo"
        try FileManager.default.createDirectory(atPath: repo, withIntermediateDirectories: true)
        var random = SplitMix(seed: 0x61_7417)
        for index in 0..<200 {
            let directory = "\(repo)/src/module\(index % 12)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let text = (0..<(1 + Int(random.next() % 40))).map { "line \($0) of file \(index): \(random.next())" }.joined(separator: "\n")
            try text.write(toFile: "\(directory)/file\(index).txt", atomically: false, encoding: .utf8)
        }
        let git = ["-c", "user.name=AtRest", "-c", "user.email=atrest@example.invalid", "-c", "init.defaultBranch=main", "-C", repo]
        for step in [["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "two hundred files"], ["fsck", "--full", "--strict"]] {
            let result = shell("/usr/bin/git", git + step)
            #expect(result.status == 0, "git \(step.joined(separator: " ")): \(result.output.prefix(2000))")
        }
        let tracked = shell("/usr/bin/git", git + ["ls-files"])
        #expect(tracked.output.split(separator: "\n").count == 200)
        try "changed\n".write(toFile: "\(repo)/src/module0/file0.txt", atomically: true, encoding: .utf8)
        let second = shell("/usr/bin/git", git + ["commit", "-q", "-am", "second"])
        #expect(second.status == 0, "\(second.output)")
        #expect(shell("/usr/bin/git", git + ["fsck", "--full", "--strict"]).status == 0)
        #expect(shell("/usr/bin/git", git + ["status", "--porcelain"]).output.isEmpty)
        phase("git")

        // tar: an archive of another tree (400 files) extracted onto the mount, and archived there and extracted out.
        let tarTree = "\(work)/tartree"
        _ = try generateTree(at: tarTree, seed: 0x7A12_7A12, count: 400, fourMiB: 1)
        #expect(shell("/usr/bin/tar", ["-cf", "\(work)/tree.tar", "-C", work, "tartree"]).status == 0)
        try FileManager.default.createDirectory(atPath: mnt + "/untar", withIntermediateDirectories: true)
        let untar = shell("/usr/bin/tar", ["-xf", "\(work)/tree.tar", "-C", mnt + "/untar"])
        #expect(untar.status == 0, "tar -x onto the mount: \(untar.output.prefix(2000))")
        #expect(shell("/usr/bin/diff", ["-r", tarTree, mnt + "/untar/tartree"]).output.isEmpty)
        let retar = shell("/usr/bin/tar", ["-cf", "\(work)/mounted.tar", "-C", mnt + "/untar", "tartree"])
        #expect(retar.status == 0, "tar -c on the mount: \(retar.output.prefix(2000))")
        try FileManager.default.createDirectory(atPath: "\(work)/untarred", withIntermediateDirectories: true)
        #expect(shell("/usr/bin/tar", ["-xf", "\(work)/mounted.tar", "-C", "\(work)/untarred"]).status == 0)
        let untarred = shell("/usr/bin/diff", ["-r", tarTree, "\(work)/untarred/tartree"])
        #expect(untarred.status == 0 && untarred.output.isEmpty, "\(untarred.output.prefix(2000))")
        phase("tar")

        // SQLite in WAL mode: 10,000 inserts, integrity_check ok, the rows all there.
        let database = mnt + "/db/app.sqlite"
        try FileManager.default.createDirectory(atPath: mnt + "/db", withIntermediateDirectories: true)
        let script = """
            PRAGMA journal_mode=WAL;
            CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, payload BLOB);
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
              INSERT INTO t(name, payload) SELECT 'row ' || i, randomblob(200) FROM n;
            BEGIN; \((0..<5000).map { "INSERT INTO t(name, payload) VALUES ('single \($0)', randomblob(\($0 % 300)));" }.joined()) COMMIT;
            PRAGMA wal_checkpoint(TRUNCATE);
            """
        try script.write(toFile: "\(work)/inserts.sql", atomically: true, encoding: .utf8)
        let inserted = shell("/usr/bin/sqlite3", [database, ".read \(work)/inserts.sql"])
        #expect(inserted.status == 0, "sqlite3: \(inserted.output.prefix(2000))")
        let check = shell("/usr/bin/sqlite3", [database, "PRAGMA integrity_check; SELECT count(*) FROM t; PRAGMA journal_mode;"])
        #expect(check.output.split(separator: "\n").map(String.init) == ["ok", "10000", "wal"], "\(check.output)")
        phase("sqlite")

        // atrest unmount: the mount goes, and the mounting process ends by itself with 0.
        let unmount = try await runTool("atrest", ["unmount", mnt])
        #expect(unmount.status == 0, "\(unmount.err)")
        #expect(!isMounted(mnt))
        // Nothing of the names or contents in the storage's files (the tree's names carry the markers).
        let needles = ["marker-dir-quokka", "marker-file-okapi", "plaintext-content-tapir-2207", "two hundred files", "line 0 of file"]
        var scanned = 0
        for path in share.cluster.allFiles() where !path.hasPrefix(work + "/") && !path.hasPrefix(mnt + "/") {
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            scanned += data.count
            for needle in needles {
                #expect(data.range(of: Data(needle.utf8)) == nil, "\(needle) in clear in \(path)")
                #expect(!path.contains(needle), "\(needle) in a path: \(path)")
            }
        }
        #expect(scanned > bytes, "the storage holds at least the tree's bytes (\(scanned) scanned)")

        #expect(share.stop() == 0)
    }

    // MARK: system calls

    @Test func randomOperationsAndErrnos() async throws {
        let share = try await MountedShare()
        defer { share.stop() }
        let mnt = share.mountpoint
        let reference = "\(share.cluster.root)/fsx-ref"
        try FileManager.default.createDirectory(atPath: reference, withIntermediateDirectories: true)
        let outcome = RandomFileOperations.run(tested: mnt, reference: reference, seed: 0xF11E_F5F5, steps: 3000)
        #expect(outcome.problems.isEmpty, "\(outcome.problems.prefix(10))")
        #expect(Set(outcome.counts.keys) == ["write", "read", "truncate", "rename", "reopen", "unlink", "fsync"], "\(outcome.counts)")
        // The service has the reference's bytes (the mount wrote everything back at close).
        let stored = try await share.files.readFile("docs", outcome.testedName, offset: 0, length: 1 << 20)
        #expect(stored == [UInt8](FileManager.default.contents(atPath: outcome.referencePath) ?? Data()))

        func errnoOf(_ result: Int32) -> Int32 { result == -1 ? errno : 0 }
        #expect(mkdir(mnt + "/d", 0o755) == 0)
        #expect(errnoOf(mkdir(mnt + "/d", 0o755)) == EEXIST)
        let fd = open(mnt + "/d/f", O_CREAT | O_WRONLY | O_EXCL, 0o640)
        #expect(fd >= 0)
        #expect(errnoOf(open(mnt + "/d/f", O_CREAT | O_WRONLY | O_EXCL, 0o640)) == EEXIST)
        close(fd)
        #expect(errnoOf(rmdir(mnt + "/d")) == ENOTEMPTY)
        #expect(errnoOf(open(mnt + "/missing", O_RDONLY)) == ENOENT)
        #expect(errnoOf(mkdir(mnt + "/d/f/x", 0o755)) == ENOTDIR)
        #expect(errnoOf(unlink(mnt + "/d")) == EISDIR || errno == EPERM)
        #expect(errnoOf(link(mnt + "/d/f", mnt + "/d/g")) == EPERM)
        #expect(chown(mnt + "/d/f", getuid(), getgid()) == 0, "the owner shown is accepted")
        #expect(errnoOf(chown(mnt + "/d/f", 4321, 4321)) == EPERM)
        #expect(errnoOf(mknod(mnt + "/d/fifo", S_IFIFO | 0o644, 0)) == EPERM)
        #expect(errnoOf(open(mnt + "/" + String(repeating: "n", count: 256), O_CREAT | O_WRONLY, 0o644)) == ENAMETOOLONG)
        #expect(mkdir(mnt + "/e", 0o700) == 0 && open(mnt + "/e/in", O_CREAT | O_WRONLY, 0o644) >= 0)
        #expect(errnoOf(rename(mnt + "/d", mnt + "/d/f/sub")) != 0, "a directory cannot move into itself")
        #expect(errnoOf(rename(mnt + "/d", mnt + "/e")) == ENOTEMPTY)
        // RENAME_EXCHANGE swaps two entries (renameat2 looked up in libc: Glibc does not declare it).
        typealias Renameat2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
        let renameat2 = unsafeBitCast(try #require(dlsym(nil, "renameat2")), to: Renameat2.self)
        try Data("one".utf8).write(to: URL(fileURLWithPath: mnt + "/x1"))
        try Data("two".utf8).write(to: URL(fileURLWithPath: mnt + "/x2"))
        #expect(renameat2(-100, mnt + "/x1", -100, mnt + "/x2", 2) == 0, "RENAME_EXCHANGE: errno \(errno)")
        #expect(FileManager.default.contents(atPath: mnt + "/x1") == Data("two".utf8))
        #expect(FileManager.default.contents(atPath: mnt + "/x2") == Data("one".utf8))
        #expect(errnoOf(renameat2(-100, mnt + "/x1", -100, mnt + "/x2", 1)) == EEXIST, "RENAME_NOREPLACE onto an existing name")
        #expect(chmod(mnt + "/d/f", 0o604) == 0)
        var info = stat()
        #expect(stat(mnt + "/d/f", &info) == 0 && info.st_mode & 0o7777 == 0o604)
        #expect(try await share.files.properties("docs", "d/f").mode == 0o604)
        #expect(share.stop() == 0)
    }

    /// What the mount does for speed keeps its promises: a file created
    /// through it is held until its first write-back, then on the service
    /// with its bytes and mode (a listing of its directory writes it back
    /// too); a large file written in 1 MiB calls (whole blocks sent as they
    /// fill) and a partial last block read back the same through the mount
    /// (read-ahead) and from the service.
    @Test func heldCreatesWriteBehindAndReadAhead() async throws {
        let share = try await MountedShare()
        defer { share.stop() }
        let mnt = share.mountpoint
        #expect(isMounted(mnt))
        let small = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 5) }
        let held = open(mnt + "/held.bin", O_CREAT | O_WRONLY | O_EXCL, 0o600)
        try #require(held >= 0)
        #expect(small.withUnsafeBytes { write(held, $0.baseAddress, $0.count) } == small.count)
        await expectCode(.notFound) { _ = try await share.files.properties("docs", "held.bin") }
        var info = stat()
        #expect(stat(mnt + "/held.bin", &info) == 0 && info.st_size == 5000 && info.st_mode & 0o7777 == 0o600)
        #expect(close(held) == 0)
        let stored = try await share.files.properties("docs", "held.bin")
        #expect(stored.size == 5000 && stored.mode == 0o600)
        #expect(try await share.files.readFile("docs", "held.bin", offset: 0, length: 10_000) == small)

        // What cp -a does (create 0600, write, futimens, fchmod, close): held until the close, which creates
        // the file with its mode and bytes and then sets its time; a write after futimens makes the time "now" again.
        let setTime = timespec(tv_sec: 1_600_000_000, tv_nsec: 123_456_789), setMs: Int64 = 1_600_000_000_123
        for (name, writeAfter) in [("timed.bin", false), ("timed-then-written.bin", true)] {
            let fd = open(mnt + "/" + name, O_CREAT | O_WRONLY | O_EXCL, 0o600)
            try #require(fd >= 0)
            #expect(small.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == small.count)
            var times = [setTime, setTime]
            #expect(futimens(fd, &times) == 0 && fchmod(fd, 0o644) == 0)
            await expectCode(.notFound) { _ = try await share.files.properties("docs", name) }
            var seen = stat()
            #expect(fstat(fd, &seen) == 0 && seen.st_mode & 0o7777 == 0o644 && seen.st_mtim.tv_sec == 1_600_000_000, "\(name)")
            if writeAfter { #expect(write(fd, "+", 1) == 1) }
            #expect(close(fd) == 0)
            let stored = try await share.files.properties("docs", name)
            #expect(stored.mode == 0o644 && stored.size == UInt64(small.count + (writeAfter ? 1 : 0)), "\(name)")
            #expect((stored.mtimeMs == setMs) == !writeAfter, "\(name): mtime \(stored.mtimeMs)")
        }
        // Written, cut back to empty (the truncate creates the held file first), then its time set: the time stays.
        let cut = open(mnt + "/timed-empty.bin", O_CREAT | O_WRONLY | O_EXCL, 0o600)
        try #require(cut >= 0)
        var cutTimes = [setTime, setTime]
        #expect(write(cut, "x", 1) == 1 && ftruncate(cut, 0) == 0 && futimens(cut, &cutTimes) == 0 && close(cut) == 0)
        let storedCut = try await share.files.properties("docs", "timed-empty.bin")
        #expect(storedCut.size == 0 && storedCut.mtimeMs == setMs, "\(storedCut)")
        // Unlinked while held with a time set (libfuse renames it to .fuse_hidden… until the close): the close succeeds, the name is gone.
        let gone = open(mnt + "/timed-gone.bin", O_CREAT | O_WRONLY | O_EXCL, 0o600)
        try #require(gone >= 0)
        var goneTimes = [setTime, setTime]
        #expect(write(gone, "x", 1) == 1 && futimens(gone, &goneTimes) == 0 && unlink(mnt + "/timed-gone.bin") == 0)
        #expect(close(gone) == 0, "close after unlink: errno \(errno)")
        await expectCode(.notFound) { _ = try await share.files.properties("docs", "timed-gone.bin") }

        let listed = open(mnt + "/listed.txt", O_CREAT | O_WRONLY | O_EXCL, 0o644)
        try #require(listed >= 0)
        #expect(write(listed, "seen", 4) == 4)
        #expect(try FileManager.default.contentsOfDirectory(atPath: mnt).contains("listed.txt"))
        #expect(try await share.files.readFile("docs", "listed.txt", offset: 0, length: 100) == Array("seen".utf8))
        #expect(write(listed, " again", 6) == 6)
        #expect(close(listed) == 0)
        #expect(try await share.files.readFile("docs", "listed.txt", offset: 0, length: 100) == Array("seen again".utf8))

        let count = (21 << 20) + 12_345
        let big = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 16) }
        let fd = open(mnt + "/big.bin", O_CREAT | O_WRONLY | O_TRUNC, 0o644)
        try #require(fd >= 0)
        var at = 0
        while at < count {
            let n = min(1 << 20, count - at)
            #expect(big[at ..< at + n].withUnsafeBytes { write(fd, $0.baseAddress, n) } == n)
            at += n
        }
        #expect(fsync(fd) == 0 && close(fd) == 0)
        #expect(try await share.files.readFile("docs", "big.bin", offset: 0, length: count) == big)
        #expect(FileManager.default.contents(atPath: mnt + "/big.bin") == Data(big))
        #expect(share.stop() == 0)
    }

    /// The kernel's lookup of a name that is not there (before every
    /// create) is answered from the mount's listing of the directory when it
    /// has a current one (made or listed here), without a call: so a name
    /// another client creates reads as missing here until the listing
    /// expires (`--listing-timeout`), then is found; names this mount makes
    /// and removes are in the listing at once.
    @Test func lookupsOfMissingNamesUseTheDirectorysListing() async throws {
        let timeout = 5.0
        let share = try await MountedShare(mountArguments: ["--listing-timeout", "\(Int(timeout))"])
        defer { share.stop() }
        let mnt = share.mountpoint
        func exists(_ path: String) -> Bool {
            var info = stat()
            return stat(mnt + "/" + path, &info) == 0
        }
        #expect(mkdir(mnt + "/fresh", 0o755) == 0)
        let made = ContinuousClock.now
        _ = try await share.files.createFile("docs", "fresh/other.txt", data: Array("x".utf8), mode: 0o644)
        let missing = !exists("fresh/other.txt")
        if ContinuousClock.now - made < .seconds(timeout) {
            #expect(missing, "within the listing timeout, another client's new name is not looked up")
        }
        // Made here: in the listing (past the kernel's own 1 s entry cache, the lookup reaches the mount).
        let mine = open(mnt + "/fresh/mine.txt", O_CREAT | O_WRONLY | O_EXCL, 0o644)
        try #require(mine >= 0)
        #expect(write(mine, "mine", 4) == 4 && close(mine) == 0)
        #expect(mkdir(mnt + "/fresh/sub", 0o755) == 0)
        try await Task.sleep(for: .milliseconds(1200))
        #expect(exists("fresh/mine.txt") && exists("fresh/sub"))
        // Once the listing has expired, the lookup finds the other client's name (the directory is listed again).
        try await Task.sleep(until: made + .seconds(timeout) + .milliseconds(200))
        #expect(exists("fresh/other.txt"))
        // Removed and renamed here: at once.
        #expect(unlink(mnt + "/fresh/mine.txt") == 0 && !exists("fresh/mine.txt"))
        #expect(rename(mnt + "/fresh/other.txt", mnt + "/fresh/moved.txt") == 0)
        #expect(!exists("fresh/other.txt") && exists("fresh/moved.txt"))
        // A listing learns another client's names at once.
        _ = try await share.files.createFile("docs", "fresh/third.txt", mode: 0o644)
        #expect(try FileManager.default.contentsOfDirectory(atPath: mnt + "/fresh").sorted() == ["moved.txt", "sub", "third.txt"])
        #expect(exists("fresh/third.txt"))
        // A create refused by the service (another client took the name since the listing): the error comes at close, and
        // the listing is dropped, so the next lookup asks the service.
        _ = try await share.files.createFile("docs", "fresh/taken.txt", data: Array("theirs".utf8), mode: 0o644)
        let late = open(mnt + "/fresh/taken.txt", O_CREAT | O_WRONLY, 0o644)
        try #require(late >= 0)
        #expect(write(late, "ours", 4) == 4)
        #expect(close(late) == -1 && errno == EEXIST)
        #expect(try await share.files.readFile("docs", "fresh/taken.txt", offset: 0, length: 100) == Array("theirs".utf8))
        #expect(exists("fresh/taken.txt"))
        #expect(share.stop() == 0)
    }

    /// Reads the mount answers from its own cached pages (read ahead of a
    /// sequential reader, on libfuse's thread without a hop to the task
    /// pool: `readImmediately`) see a write and a truncate made through
    /// the mount meanwhile, whole.
    @Test func readsFromCachedPagesSeeWritesAndTruncatesMeanwhile() async throws {
        let share = try await MountedShare()
        defer { share.stop() }
        let path = share.mountpoint + "/ahead.bin"
        let count = 8 << 20
        var expected = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 17 &+ $0 >> 12) }
        #expect(FileManager.default.createFile(atPath: path, contents: Data(expected)))
        let reader = open(path, O_RDONLY)
        try #require(reader >= 0)
        defer { close(reader) }
        func readAt(_ offset: Int, _ length: Int) -> [UInt8] {
            var buffer = [UInt8](repeating: 0, count: length)
            let n = buffer.withUnsafeMutableBytes { pread(reader, $0.baseAddress, length, off_t(offset)) }
            return Array(buffer.prefix(max(n, 0)))
        }
        #expect(readAt(0, 2 << 20) == Array(expected[..<(2 << 20)]), "the first 2 MiB; the mount reads ahead past them")

        let writer = open(path, O_WRONLY)
        try #require(writer >= 0)
        let patch = [UInt8](repeating: 0xEE, count: 300)
        let at = (3 << 20) + 100
        #expect(patch.withUnsafeBytes { pwrite(writer, $0.baseAddress, $0.count, off_t(at)) } == patch.count)
        expected.replaceSubrange(at ..< at + patch.count, with: patch)
        #expect(readAt(3 << 20, 1 << 20) == Array(expected[(3 << 20) ..< (4 << 20)]), "a page read ahead, then written")

        #expect(ftruncate(writer, off_t((5 << 20) + 50)) == 0)
        #expect(close(writer) == 0)
        #expect(readAt(5 << 20, 1 << 20) == Array(expected[(5 << 20) ..< (5 << 20) + 50]), "cut by the truncate")
        #expect(readAt(6 << 20, 1 << 20).isEmpty, "past the new end")

        // The kernel keeps a file's pages across close and open when the file is unchanged on the service
        // (close-to-open, as NFS): a write another client made within the size is seen once it is flushed.
        let kept = share.mountpoint + "/kept.bin"
        var content = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        #expect(FileManager.default.createFile(atPath: kept, contents: Data(content)))
        #expect(FileManager.default.contents(atPath: kept) == Data(content), "read once: the kernel caches the pages")
        #expect(FileManager.default.contents(atPath: kept) == Data(content), "read again: the close noted the file unchanged")
        let other = [UInt8](repeating: 0xAB, count: 4096)
        try await share.files.writeFile("docs", "kept.bin", offset: 8192, data: other)
        #expect(FileManager.default.contents(atPath: kept) == Data(content),
                "not flushed: no time changed, so the open kept the pages (the documented window)")
        _ = try await share.files.flushFile("docs", "kept.bin")
        content.replaceSubrange(8192 ..< 8192 + other.count, with: other)
        #expect(FileManager.default.contents(atPath: kept) == Data(content), "flushed: the next open drops the kernel's pages")
        // Written through the mount, then read through it: the kernel's pages have the write.
        let mine = open(kept, O_WRONLY)
        try #require(mine >= 0)
        #expect(pwrite(mine, "mine", 4, 100) == 4 && close(mine) == 0)
        content.replaceSubrange(100 ..< 104, with: Array("mine".utf8))
        #expect(FileManager.default.contents(atPath: kept) == Data(content))
        #expect(try await share.files.readFile("docs", "kept.bin", offset: 0, length: 1 << 20) == content)
        // Every change of the file moves the ctime the open compares (strictly, also within one millisecond).
        let before = try await share.files.properties("docs", "kept.bin")
        _ = try await share.files.flushFile("docs", "kept.bin")
        let after = try await share.files.properties("docs", "kept.bin")
        #expect(after.ctimeMs > before.ctimeMs)
    }

    // MARK: failures

    /// A worker SIGKILLed during a copy of fsynced files: every file whose
    /// fsync and close succeeded is intact, and the mount keeps serving.
    /// Then the account's customer key is disabled (calls fail EACCES or
    /// EIO) and enabled again (they work, without remounting).
    @Test func aWorkerKilledMidCopyAndARevokedKey() async throws {
        let share = try await MountedShare()
        defer { share.stop() }
        let mnt = share.mountpoint
        try FileManager.default.createDirectory(atPath: mnt + "/copy", withIntermediateDirectories: true)
        let copy = CopyProgress()
        let writer = Task.detached {
            var random = SplitMix(seed: 0xC0FF_EE00)
            for index in 0..<80 {
                let bytes = random.bytes(64 * 1024 + Int(random.next() % (512 * 1024)))
                let fd = open("\(mnt)/copy/f\(index)", O_CREAT | O_WRONLY | O_TRUNC, 0o644)
                if fd >= 0 {
                    let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, bytes.count) }
                    let synced = fsync(fd) == 0
                    if close(fd) == 0 && synced && written == bytes.count { copy.synced.withLock { $0[index] = bytes } }
                }
                copy.attempted.add(1, ordering: .relaxed)
            }
        }
        while copy.attempted.load(ordering: .relaxed) < 15 { try await Task.sleep(for: .milliseconds(20)) }
        share.cluster.killWorker(share.cluster.workerNames[0])
        await writer.value
        let synced = copy.synced.withLock { $0 }
        #expect(synced.count >= 15, "files fsynced: \(synced.count) of 80")
        for (index, bytes) in synced {
            let data = FileManager.default.contents(atPath: "\(mnt)/copy/f\(index)")
            #expect(data.map([UInt8].init) == bytes, "f\(index) fsynced but not intact")
        }
        // The mount survives: new files are written and read back through the remaining worker.
        try Data("after the kill".utf8).write(to: URL(fileURLWithPath: "\(mnt)/after.txt"))
        #expect(FileManager.default.contents(atPath: "\(mnt)/after.txt") == Data("after the kill".utf8))

        // A customer key for the account, then disabled: calls on the mount fail with EACCES or EIO.
        let c = share.cluster.client, alice = share.alice
        let mi = try await c.call("atrest.v1.Account/Get", request: AccountRequest(accountID: "m-acct"), as: AccountInfo.self, metadata: alice).message.managedIdentity
        let key = KeyRef(provider: "customer", keyID: "cmk-mount")
        _ = try await c.call("atrest.v1.KeyVault/CreateKey", request: CreateKeyRequest(provider: "customer", spec: KeySpec(keyID: "cmk-mount")), as: KeyResponse.self,
                             metadata: alice)
        _ = try await c.call("atrest.v1.KeyVault/GrantAccess", request: AccessRequest(AccessGrant(key: key, principalID: mi, operations: [.wrap, .unwrap])),
                             as: AccessResponse.self, metadata: alice)
        _ = try await c.call("atrest.v1.Account/SetEncryption", request: AccountSetEncryptionRequest(accountID: "m-acct", keySource: "customer", keyID: "cmk-mount"),
                             as: AccountEncryption.self, metadata: alice)
        _ = try await c.call("atrest.v1.KeyVault/DisableKey", request: KeyRequest(key), as: KeyResponse.self, metadata: alice)
        var failure: Int32 = 0
        try await eventually(within: .seconds(30)) {
            let fd = open("\(mnt)/after.txt", O_RDONLY)
            if fd >= 0 {
                close(fd)
                throw RPCStatus(.unavailable, "still readable")
            }
            failure = errno
        }
        #expect(failure == EACCES || failure == EIO, "errno \(failure)")
        let created = open("\(mnt)/refused.txt", O_CREAT | O_WRONLY, 0o644)
        #expect(created == -1 && (errno == EACCES || errno == EIO), "create while the key is disabled: \(created), errno \(errno)")
        // Enabled again: the same mount reads and writes.
        _ = try await c.call("atrest.v1.KeyVault/EnableKey", request: KeyRequest(key), as: KeyResponse.self, metadata: alice)
        try await eventually(within: .seconds(30)) {
            guard FileManager.default.contents(atPath: "\(mnt)/after.txt") == Data("after the kill".utf8) else { throw RPCStatus(.unavailable, "not back yet") }
        }
        try Data("back".utf8).write(to: URL(fileURLWithPath: "\(mnt)/back.txt"))
        #expect(FileManager.default.contents(atPath: "\(mnt)/back.txt") == Data("back".utf8))
        #expect(isMounted(mnt))
        #expect(share.stop() == 0)
    }

    // MARK: helpers

    /// The copy's files attempted and those fsynced and closed without error (with their bytes).
    final class CopyProgress: Sendable {
        let attempted = Atomic<Int>(0)
        let synced = Mutex<[Int: [UInt8]]>([:])
    }

    /// 2,000+ files in a tree nested 7 levels, Unicode names (some carrying
    /// the scan's markers), sizes 0 B – 4 MiB log-uniform with the large end
    /// rare (about 80 MiB in all); returns the count of files and their bytes.
    func generateTree(at root: String, seed: UInt64, count: Int = 2010, fourMiB: Int = 10) throws -> (files: Int, bytes: Int) {
        var random = SplitMix(seed: seed)
        let names = ["naïve café", "日本語のファイル", "Ωμέγα", "emoji 🎉🚀", "Ünïcödé-ß", "plain", "with space", "marker-dir-quokka", "中文目录", "Привет"]
        var directories = [root]
        var chain = root
        for level in 1...7 {
            chain += "/level\(level) \(names[level % names.count])"
            directories.append(chain)
        }
        for index in 0..<120 {
            directories.append(directories[Int(random.next() % UInt64(directories.count))] + "/dir\(index) \(names[index % names.count])")
        }
        for directory in directories { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        let content = Array("plaintext-content-tapir-2207 ".utf8)
        var bytes = 0
        for index in 0..<count {
            // Log-uniform: 1 file in 40 over the whole 0 B – 4 MiB, the rest up to 128 KiB; ten of exactly 4 MiB.
            let size: Int
            if index < fourMiB {
                size = 4 << 20
            } else {
                let maxBits = index % 40 == 0 ? 22.0 : 17.0
                size = Int(exp2(Double(random.next() % 1_000_000) / 1_000_000 * maxBits)) - 1
            }
            var data = random.bytes(size)
            if size >= content.count, index % 3 == 0 { data.replaceSubrange(0..<content.count, with: content) }
            let parent = directories[Int(random.next() % UInt64(directories.count))]
            let name = index % 50 == 0 ? "marker-file-okapi \(index).bin" : "file\(index) \(names[(index * 7) % names.count]).bin"
            guard FileManager.default.createFile(atPath: "\(parent)/\(name)", contents: Data(data),
                                                 attributes: [.posixPermissions: [0o644, 0o600, 0o755, 0o444][index % 4]]) else {
                throw CocoaError(.fileWriteUnknown)
            }
            bytes += size
        }
        return (count, bytes)
    }
}

/// Whether `path` is a mount point now (/proc/mounts, octal escapes decoded).
private func isMounted(_ path: String) -> Bool {
    guard let text = try? String(contentsOfFile: "/proc/mounts", encoding: .utf8) else { return false }
    return text.split(separator: "\n").contains { line in
        let fields = line.split(separator: " ")
        return fields.count > 1 && fields[1].replacingOccurrences(of: "\\040", with: " ") == path
    }
}

/// Runs a command to the end, stdout and stderr together.
private func shell(_ executable: String, _ arguments: [String]) -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    do { try process.run() } catch { return (-1, "\(executable): \(error)") }
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, output)
}
