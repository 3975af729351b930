import AtRestFUSE
import AtRestFUSEPassthrough
import AtRestTesting
internal import CAtRestLinux
import Foundation
import Glibc
import Testing

/// System calls through a real mount of atrest-fuse-passthrough: random
/// operations against a reference file, and the errno of each failure.
@Suite(.serialized, .enabled(if: fuseAvailable, Comment(rawValue: noFUSE)))
struct PassthroughOperationsTests {
    /// A file on the mount and its reference in a local directory, open read-write.
    struct Pair {
        var mounted: Int32
        var reference: Int32
        var mountedPath: String
        var referencePath: String

        static func create(_ mounted: String, _ reference: String) throws -> Pair {
            let a = open(mounted, O_RDWR | O_CREAT | O_EXCL, 0o644)
            let b = open(reference, O_RDWR | O_CREAT | O_EXCL, 0o644)
            try #require(a >= 0 && b >= 0, "create \(mounted): errno \(errno)")
            return Pair(mounted: a, reference: b, mountedPath: mounted, referencePath: reference)
        }

        func close() {
            #expect(Glibc.close(mounted) == 0)
            #expect(Glibc.close(reference) == 0)
        }

        func size(_ fd: Int32) -> Int {
            var info = stat()
            #expect(fstat(fd, &info) == 0)
            return Int(info.st_size)
        }

        func read(_ fd: Int32, offset: Int, count: Int) -> [UInt8] {
            var bytes = [UInt8](repeating: 0, count: count)
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
            #expect(n >= 0, "pread: errno \(errno)")
            return Array(bytes.prefix(max(n, 0)))
        }
    }

    /// fsx-style: writes (with holes), reads, truncates, renames, reopens,
    /// unlinks and fsyncs on one file through the mount and on a local
    /// reference file, compared (size and every byte) after every step.
    @Test func randomOperationsMatchAReferenceFile() throws {
        let mount = try PassthroughMount("fsx")
        let work = try TemporaryDirectory("fsx-ref")
        let seed: UInt64 = 0xF5F5_2026
        var random = SeededRandom(seed: seed)
        let maxSize = 256 * 1024
        var generation = 0
        func names() -> (String, String) { ("\(mount.mountpoint)/fsx-\(generation)", "\(work.path)/ref-\(generation)") }
        var pair = try Pair.create(names().0, names().1)
        var counts: [String: Int] = [:]

        for step in 0..<3000 {
            let choice = Int(random.next() % 100)
            let size = pair.size(pair.reference)
            var operation: String
            switch choice {
            case 0..<30, 90..<100:
                // Anywhere, or past the end (a hole), up to 64 KiB.
                let offset = choice >= 90 ? min(size + Int(random.next() % 8192), maxSize - 1) : Int(random.next() % UInt64(maxSize))
                let count = 1 + Int(random.next() % UInt64(min(65_536, maxSize - offset)))
                let bytes = random.bytes(count)
                operation = "write \(offset)+\(count)"
                let a = bytes.withUnsafeBytes { pwrite(pair.mounted, $0.baseAddress, count, off_t(offset)) }
                let b = bytes.withUnsafeBytes { pwrite(pair.reference, $0.baseAddress, count, off_t(offset)) }
                #expect(a == count && b == count, "step \(step) \(operation): wrote \(a), errno \(errno)")
            case 30..<50:
                let offset = Int(random.next() % UInt64(maxSize + 4096))
                let count = 1 + Int(random.next() % 65_536)
                operation = "read \(offset)+\(count)"
                let a = pair.read(pair.mounted, offset: offset, count: count)
                let b = pair.read(pair.reference, offset: offset, count: count)
                #expect(a == b, "step \(step) \(operation): \(a.count) bytes vs \(b.count) expected")
            case 50..<62:
                let length = Int(random.next() % UInt64(maxSize + 1))
                operation = "truncate \(length)"
                #expect(ftruncate(pair.mounted, off_t(length)) == 0 && ftruncate(pair.reference, off_t(length)) == 0,
                        "step \(step) \(operation): errno \(errno)")
            case 62..<70:
                generation += 1
                let (mounted, reference) = names()
                operation = "rename to \(mounted)"
                #expect(rename(pair.mountedPath, mounted) == 0, "step \(step) \(operation): errno \(errno)")
                #expect(rename(pair.referencePath, reference) == 0)
                pair.mountedPath = mounted
                pair.referencePath = reference
            case 70..<78:
                // A fresh open drops the kernel's cached pages: reads reach the file system again.
                operation = "reopen"
                pair.close()
                pair.mounted = open(pair.mountedPath, O_RDWR)
                pair.reference = open(pair.referencePath, O_RDWR)
                #expect(pair.mounted >= 0 && pair.reference >= 0, "step \(step) reopen: errno \(errno)")
            case 78..<83:
                operation = "unlink and create"
                pair.close()
                #expect(unlink(pair.mountedPath) == 0 && unlink(pair.referencePath) == 0, "step \(step) unlink: errno \(errno)")
                #expect(access(pair.mountedPath, F_OK) != 0 && errno == ENOENT)
                generation += 1
                pair = try Pair.create(names().0, names().1)
            default:
                operation = "fsync"
                #expect(fsync(pair.mounted) == 0 && fdatasync(pair.mounted) == 0, "step \(step) fsync: errno \(errno)")
            }
            counts[operation.split(separator: " ").first.map(String.init) ?? operation, default: 0] += 1
            // Compared after every step: the size, and every byte.
            let expected = pair.size(pair.reference)
            #expect(pair.size(pair.mounted) == expected, "step \(step) after \(operation) (seed \(seed))")
            let mounted = pair.read(pair.mounted, offset: 0, count: expected + 1)
            let reference = pair.read(pair.reference, offset: 0, count: expected + 1)
            guard mounted == reference else {
                Issue.record("step \(step) after \(operation): contents differ (seed \(seed))")
                break
            }
        }
        pair.close()
        // Every kind of operation ran, and the file in the directory served is the reference.
        #expect(Set(counts.keys) == ["write", "read", "truncate", "rename", "reopen", "unlink", "fsync"], "\(counts)")
        let served = FileManager.default.contents(atPath: mount.source + "/fsx-\(generation)")
        #expect(served != nil && served == FileManager.default.contents(atPath: pair.referencePath))
        #expect(try FileManager.default.contentsOfDirectory(atPath: mount.source) == ["fsx-\(generation)"])
        #expect(mount.stop() == 0)
    }

    /// The errno of a failure on the mount is the one the file system gave.
    @Test func errorsComeBackAsTheirErrno() throws {
        let mount = try PassthroughMount("errno")
        let root = mount.mountpoint
        func failure(_ result: Int32) -> Int32 { result == -1 ? errno : 0 }
        var info = stat()

        #expect(failure(stat(root + "/missing", &info)) == ENOENT)
        #expect(failure(open(root + "/missing", O_RDONLY)) == ENOENT)
        #expect(failure(unlink(root + "/missing")) == ENOENT)
        #expect(failure(rmdir(root + "/missing")) == ENOENT)
        #expect(failure(mkdir(root + "/d", 0o755)) == 0)
        #expect(failure(mkdir(root + "/d", 0o755)) == EEXIST)
        let file = open(root + "/d/f", O_WRONLY | O_CREAT | O_EXCL, 0o600)
        #expect(file >= 0)
        #expect(write(file, "hello", 5) == 5)
        #expect(close(file) == 0)
        #expect(failure(open(root + "/d/f", O_WRONLY | O_CREAT | O_EXCL, 0o600)) == EEXIST)
        #expect(failure(rmdir(root + "/d")) == ENOTEMPTY)
        #expect(failure(rmdir(root + "/d/f")) == ENOTDIR)
        #expect(failure(unlink(root + "/d")) == EISDIR)
        #expect(failure(open(root + "/d/f/x", O_RDONLY)) == ENOTDIR)

        // renameat2's flags pass through: NOREPLACE refuses an existing target, EXCHANGE swaps.
        #expect(FileManager.default.createFile(atPath: root + "/d/g", contents: Data("world".utf8)))
        #expect(failure(atrest_linux_rename_flags(root + "/d/f", root + "/d/g", 1)) == EEXIST)
        #expect(failure(atrest_linux_rename_flags(root + "/d/f", root + "/d/g", 2)) == 0)
        #expect(FileManager.default.contents(atPath: root + "/d/f") == Data("world".utf8))
        #expect(FileManager.default.contents(atPath: root + "/d/g") == Data("hello".utf8))
        #expect(failure(atrest_linux_rename_flags(root + "/d/f", root + "/d/new", 1)) == 0)
        #expect(failure(atrest_linux_rename_flags(root + "/d/new", root + "/d/missing", 2)) == ENOENT)

        // Unsupported: hard links and special files (EPERM), xattrs (EOPNOTSUPP).
        #expect(failure(link(root + "/d/g", root + "/d/h")) == EPERM)
        #expect(failure(mkfifo(root + "/d/fifo", 0o644)) == EPERM)
        let xattr = run("/usr/bin/python3", ["-c", """
            import errno, os, sys
            try:
                os.setxattr(sys.argv[1], "user.test", b"1")
            except OSError as e:
                print(e.errno)
            """, root + "/d/g"])
        #expect(xattr.output.trimmingCharacters(in: .whitespacesAndNewlines) == "\(EOPNOTSUPP)", "setxattr: \(xattr.output)")
        // Symbolic links are cheap for the passthrough and supported.
        #expect(failure(symlink("g", root + "/d/link")) == 0)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/d/link") == "g")
        #expect(FileManager.default.contents(atPath: root + "/d/link") == Data("hello".utf8))

        // The mount still serves after every failure.
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/d").sorted() == ["g", "link", "new"])
        #expect(mount.stop() == 0)
    }

    /// The mount refuses bad mount points and sources with a clear message, before mounting anything.
    @Test func mountErrorsAreClear() throws {
        let work = try TemporaryDirectory("mount-errors")
        let source = try work.child("src")
        let full = try work.child("full")
        #expect(FileManager.default.createFile(atPath: full + "/x", contents: Data()))
        let file = work.path + "/file"
        #expect(FileManager.default.createFile(atPath: file, contents: Data()))

        let filesystem = try PassthroughFileSystem(root: source)
        #expect(throws: FUSEError.self) { try FUSEMount(filesystem, at: file).mount() }
        do {
            try FUSEMount(filesystem, at: full).mount()
            Issue.record("mounted over a non-empty directory")
        } catch let error as FUSEError {
            #expect(error.code == .notEmpty)
        }
        do {
            try FUSEMount(filesystem, at: work.path + "/missing").mount()
            Issue.record("mounted on a missing directory")
        } catch let error as FUSEError {
            #expect(error.code == .notADirectory)
        }

        let binary = ServiceProcessPath.passthrough
        let nonEmpty = run(binary, [source, full])
        #expect(nonEmpty.status == 1 && nonEmpty.output.contains("is not empty"), "\(nonEmpty.output)")
        let notDirectory = run(binary, [source, file])
        #expect(notDirectory.status == 1 && notDirectory.output.contains("is not a directory"), "\(notDirectory.output)")
        let noSource = run(binary, [work.path + "/nothing", try work.child("mnt")])
        #expect(noSource.status == 1 && noSource.output.contains("source"), "\(noSource.output)")
        #expect(!isMountpoint(full) && !isMountpoint(work.path + "/mnt"))
    }
}
