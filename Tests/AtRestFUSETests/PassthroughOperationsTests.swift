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
    /// fsx-style (AtRestTesting's RandomFileOperations): writes (with holes),
    /// reads, truncates, renames, reopens, unlinks and fsyncs on one file
    /// through the mount and on a local reference file, compared (size and
    /// every byte) after every step.
    @Test func randomOperationsMatchAReferenceFile() throws {
        let mount = try PassthroughMount("fsx")
        let work = try TemporaryDirectory("fsx-ref")
        let outcome = RandomFileOperations.run(tested: mount.mountpoint, reference: work.path, seed: 0xF5F5_2026, steps: 3000)
        #expect(outcome.problems.isEmpty, "\(outcome.problems.prefix(10))")
        // Every kind of operation ran, and the file in the directory served is the reference.
        #expect(Set(outcome.counts.keys) == ["write", "read", "truncate", "rename", "reopen", "unlink", "fsync"], "\(outcome.counts)")
        let served = FileManager.default.contents(atPath: mount.source + "/" + outcome.testedName)
        #expect(served != nil && served == FileManager.default.contents(atPath: outcome.referencePath))
        #expect(try FileManager.default.contentsOfDirectory(atPath: mount.source) == [outcome.testedName])
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

    /// `--kernel-cache`: an open keeps the kernel's pages only when the local
    /// file is, unchanged, the one the last close through the mount saw.
    @Test func theKernelKeepsPagesOnlyOfAFileThatDidNotChange() async throws {
        let work = try TemporaryDirectory("keep-cache")
        let source = try work.child("src")
        #expect(FileManager.default.createFile(atPath: source + "/f", contents: Data("one".utf8)))
        let fs = try PassthroughFileSystem(root: source, kernelCache: true)
        func openAndClose(_ flags: Int32 = O_RDONLY) async throws -> Bool {
            let handle = try await fs.open("/f", flags: FUSEOpenFlags(rawValue: flags))
            let keeps = fs.keepsKernelCache(handle)
            #expect(!fs.keepsKernelCache(handle), "asked once per open")
            try await fs.release("/f", handle: handle)
            return keeps
        }
        #expect(try await openAndClose() == false, "nothing seen yet")
        #expect(try await openAndClose() == true, "unchanged since the last close")
        try Data("two".utf8).write(to: URL(fileURLWithPath: source + "/f"))  // same size, behind the mount's back
        #expect(try await openAndClose() == false, "changed behind the mount")
        #expect(try await openAndClose() == true)
        #expect(try await openAndClose(O_WRONLY | O_TRUNC) == false, "O_TRUNC never keeps")
        #expect(try FileManager.default.removeItem(atPath: source + "/f") == ())
        #expect(FileManager.default.createFile(atPath: source + "/f", contents: Data("one".utf8)))
        #expect(try await openAndClose() == false, "another file at the path")
        let plain = try PassthroughFileSystem(root: source)
        let handle = try await plain.open("/f", flags: FUSEOpenFlags(rawValue: O_RDONLY))
        #expect(!plain.keepsKernelCache(handle), "off by default")
        try await plain.release("/f", handle: handle)
    }
}
