import Foundation
import Glibc
import Testing

/// How atrest-fuse-passthrough ends: a signal or an unmount from outside
/// leaves no mount behind and the process exits 0.
@Suite(.serialized, .enabled(if: fuseAvailable, Comment(rawValue: noFUSE)))
struct PassthroughLifecycleTests {
    @Test(arguments: [SIGTERM, SIGINT])
    func aSignalUnmountsAndExitsZero(_ signal: Int32) throws {
        let mount = try PassthroughMount("signal")
        #expect(isMountpoint(mount.mountpoint))
        #expect(mount.process.fields["mountpoint"] == mount.mountpoint)
        #expect(FileManager.default.createFile(atPath: mount.mountpoint + "/kept", contents: Data("kept".utf8)))
        mount.process.signal(signal)
        #expect(mount.process.waitForExit(timeout: .seconds(30)) == 0)
        #expect(!isMountpoint(mount.mountpoint), "\(mount.mountpoint) still in /proc/mounts")
        #expect(FileManager.default.contents(atPath: mount.source + "/kept") == Data("kept".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: mount.mountpoint) == [])
    }

    /// A file still open on the mount does not keep SIGTERM from unmounting:
    /// the mount is detached and its connection aborted, the open file then fails.
    @Test func sigtermUnmountsWithAFileOpen() throws {
        let mount = try PassthroughMount("busy")
        let fd = open(mount.mountpoint + "/open", O_RDWR | O_CREAT, 0o644)
        try #require(fd >= 0)
        #expect(write(fd, "x", 1) == 1)
        mount.process.signal(SIGTERM)
        #expect(mount.process.waitForExit(timeout: .seconds(30)) == 0)
        #expect(!isMountpoint(mount.mountpoint))
        // A write goes to the (gone) file system at once: it fails instead of hanging.
        var byte: UInt8 = 0x79
        #expect(pwrite(fd, &byte, 1, 0) == -1 && errno == ENOTCONN, "write on a file of an aborted mount: errno \(errno)")
        close(fd)
        #expect(FileManager.default.contents(atPath: mount.source + "/open") == Data("x".utf8))
    }

    @Test func anUnmountFromOutsideEndsTheProcess() throws {
        let mount = try PassthroughMount("outside")
        let unmount = run("/usr/bin/fusermount3", ["-u", mount.mountpoint])
        #expect(unmount.status == 0, "fusermount3 -u: \(unmount.output)")
        #expect(mount.process.waitForExit(timeout: .seconds(30)) == 0)
        #expect(!isMountpoint(mount.mountpoint))
    }

    /// `--background` returns once mounted, with the serving process's pid in
    /// the ready line; SIGTERM to that pid unmounts.
    @Test func backgroundDetachesOnceMounted() throws {
        let work = try TemporaryDirectory("background")
        let source = try work.child("src"), mountpoint = try work.child("mnt")
        let binary = ServiceProcessPath.passthrough
        let started = run(binary, [source, mountpoint, "--background"])
        #expect(started.status == 0, "\(started.output)")
        defer { if isMountpoint(mountpoint) { run("/usr/bin/umount", ["-l", mountpoint]) } }
        let ready = try #require(started.output.split(separator: "\n").first { $0.hasPrefix("ready atrest-fuse-passthrough ") })
        let pidField = try #require(ready.split(separator: " ").first { $0.hasPrefix("pid=") })
        let pid = try #require(Int32(pidField.dropFirst(4)))
        #expect(isMountpoint(mountpoint), "not mounted after --background returned")
        #expect(FileManager.default.createFile(atPath: mountpoint + "/through", contents: Data("bg".utf8)))
        #expect(FileManager.default.contents(atPath: source + "/through") == Data("bg".utf8))

        #expect(kill(pid, SIGTERM) == 0)
        // Wait (bounded) for the mount to go and the process to end: no timing is asserted.
        let deadline = ContinuousClock.now + .seconds(30)
        while (isMountpoint(mountpoint) || processIsAlive(pid)) && ContinuousClock.now < deadline { usleep(20_000) }
        #expect(!isMountpoint(mountpoint), "SIGTERM did not unmount the background mount")
        #expect(!processIsAlive(pid), "the background process did not exit")
    }

    /// Alive and not a zombie (an exited daemon may wait for a reaper in a container).
    func processIsAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return !stat[stat.index(close, offsetBy: 2)...].hasPrefix("Z")
    }
}
