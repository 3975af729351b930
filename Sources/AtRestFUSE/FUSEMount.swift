internal import CFuse3
import Foundation
import Glibc
import ServiceLifecycle
import Synchronization

/// How a file system is mounted.
public struct FUSEMountOptions: Sendable {
    /// The source column of /proc/mounts (commas and backslashes are dropped).
    public var fsName = "atrest"
    /// The type is `fuse.<subtype>`.
    public var subtype = "atrest"
    /// Mount over a directory that has entries (hidden while mounted).
    public var allowNonEmpty = false
    /// The kernel checks permission bits against the attributes (on by default; off: the file system decides).
    public var defaultPermissions = true
    /// Users other than the one mounting may use the mount (non-root needs user_allow_other in /etc/fuse.conf).
    public var allowOther = false
    public var readOnly = false
    /// Seconds the kernel caches attributes, names (entries) and "no such name" answers.
    public var attributeTimeout: Double = 1
    public var entryTimeout: Double = 1
    public var negativeTimeout: Double = 0
    /// Unlink an open file at once (else libfuse renames it to .fuse_hidden… until its last close).
    public var hardRemove = false
    /// Largest write the kernel sends (libfuse 3 caps it at 1 MiB).
    public var maxWrite = 1 << 20
    /// libfuse worker threads kept idle.
    public var maxIdleThreads = 10

    public init() {}

    var optionString: String {
        func clean(_ value: String) -> String { value.filter { $0 != "," && $0 != "\\" && $0 != "=" } }
        var options = ["fsname=\(clean(fsName))", "subtype=\(clean(subtype))"]
        if defaultPermissions { options.append("default_permissions") }
        if allowOther { options.append("allow_other") }
        if readOnly { options.append("ro") }
        return options.joined(separator: ",")
    }
}

/// A `FUSEFileSystem` mounted at a directory with libfuse3, served by
/// libfuse's multithreaded loop on threads of its own (each call is bridged
/// to the file system's async method; no Swift concurrency thread ever
/// waits on the kernel).
///
/// `mount()` checks the mount point and /dev/fuse, mounts and starts the
/// loop; `unmount()` unmounts (lazily, aborting the connection, when files
/// are still open) and the loop ends; so does an unmount from outside
/// (`fusermount3 -u`, `umount`). As a `Service`, the mount runs until then
/// and unmounts on graceful shutdown (SIGTERM/SIGINT under `ServiceMain`).
public final class FUSEMount: Service, @unchecked Sendable {
    public let mountpoint: String
    public let options: FUSEMountOptions
    private let fileSystem: any FUSEFileSystem

    private enum Phase { case idle, mounted, finished }
    private struct State {
        var phase = Phase.idle
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    /// `mountpoint` is resolved to an absolute path now.
    public init(_ fileSystem: any FUSEFileSystem, at mountpoint: String, options: FUSEMountOptions = FUSEMountOptions()) {
        self.fileSystem = fileSystem
        self.options = options
        self.mountpoint = FUSEMount.resolve(mountpoint)
    }

    /// The absolute path without symbolic links (as /proc/self/mountinfo shows it) when it exists.
    static func resolve(_ path: String) -> String {
        var resolved = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        if realpath(path, &resolved) != nil { return String(cString: resolved) }
        return URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// Mounts and starts serving; throws a `FUSEError` with a clear code when it cannot.
    public func mount() throws {
        try state.withLock { state in
            guard state.phase == .idle else { throw FUSEError(.mountFailed, "\(mountpoint) was already mounted by this FUSEMount") }
            state.phase = .mounted  // claimed; reset below on failure
        }
        do {
            try checkMountpoint()
            try checkDevice()
            try start()
        } catch {
            state.withLock { $0.phase = .idle }
            throw error
        }
    }

    private func checkMountpoint() throws {
        var info = stat()
        guard stat(mountpoint, &info) == 0 else {
            if errno == ENOTCONN {
                throw FUSEError(.notEmpty, "\(mountpoint) holds a FUSE mount whose process has gone: clear it with fusermount3 -u \(mountpoint)", errno: EBUSY)
            }
            throw FUSEError(.notADirectory, "mount point \(mountpoint): \(String(cString: strerror(errno)))", errno: ENOTDIR)
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw FUSEError(.notADirectory, "mount point \(mountpoint) is not a directory", errno: ENOTDIR)
        }
        if FUSEMount.isMounted(mountpoint) {
            throw FUSEError(.notEmpty, "\(mountpoint) is already a mount point", errno: EBUSY)
        }
        if !options.allowNonEmpty {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: mountpoint)) ?? []
            guard entries.isEmpty else {
                throw FUSEError(.notEmpty, "mount point \(mountpoint) is not empty (\(entries.count) entries); allow mounting over them or pick an empty directory", errno: ENOTEMPTY)
            }
        }
    }

    private func checkDevice() throws {
        var info = stat()
        guard stat("/dev/fuse", &info) == 0 else {
            throw FUSEError(.noDevice, "/dev/fuse is missing: this kernel or container has no FUSE (load the fuse module, or give the container --device /dev/fuse)", errno: ENODEV)
        }
        guard access("/dev/fuse", R_OK | W_OK) == 0 else {
            throw FUSEError(.notPermitted, "not permitted to open /dev/fuse: \(String(cString: strerror(errno))) (run as root or get read-write access to it)", errno: EPERM)
        }
        if geteuid() != 0 && access("/usr/bin/fusermount3", X_OK) != 0 && access("/bin/fusermount3", X_OK) != 0 {
            throw FUSEError(.notPermitted, "mounting as a user needs fusermount3 (package fuse3), or run as root", errno: EPERM)
        }
    }

    private func start() throws {
        let context = FUSEContext(fileSystem: fileSystem, options: options)
        let unmanaged = Unmanaged.passRetained(context)
        var args = fuse_args()
        fuse_opt_add_arg(&args, "atrest-fuse")
        fuse_opt_add_arg(&args, "-o")
        fuse_opt_add_arg(&args, options.optionString)
        var operations = makeOperations()
        let fuse = atrest_fuse_new(&args, &operations, unmanaged.toOpaque())
        fuse_opt_free_args(&args)
        guard let fuse else {
            unmanaged.release()
            throw FUSEError(.mountFailed, "libfuse could not set up the file system (options \(options.optionString))")
        }
        guard fuse_mount(fuse, mountpoint) == 0 else {
            fuse_destroy(fuse)
            unmanaged.release()
            throw FUSEError(geteuid() == 0 ? .mountFailed : .notPermitted,
                            "libfuse could not mount \(mountpoint) (its message is above)\(geteuid() == 0 ? "" : "; as a user, mounting needs fusermount3 and a mount point you own")")
        }
        let loop = LoopHandle(fuse: fuse, context: unmanaged)
        let idle = UInt32(max(1, options.maxIdleThreads))
        let thread = Thread { [self] in
            _ = atrest_fuse_loop_mt(loop.fuse, idle)
            // The loop ends when the kernel ends the connection (unmounted); unmount in case it ended otherwise.
            fuse_unmount(loop.fuse)
            fuse_destroy(loop.fuse)
            loop.context.release()
            finish()
        }
        thread.name = "atrest-fuse-loop"
        thread.start()
    }

    private struct LoopHandle: @unchecked Sendable {
        let fuse: OpaquePointer
        let context: Unmanaged<FUSEContext>
    }

    private func finish() {
        let waiters = state.withLock { state in
            state.phase = .finished
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Whether the loop has ended (the file system is unmounted).
    public var isFinished: Bool { state.withLock { $0.phase == .finished } }

    /// Returns once the file system is unmounted and the loop has ended.
    public func waitUntilUnmounted() async {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool in
                if state.phase == .finished || state.phase == .idle { return true }
                state.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Unmounts: at once when nothing is open; else detached from the tree
    /// (gone from /proc/mounts) with its connection aborted, so open files
    /// get ENOTCONN and the loop ends. Safe to call more than once.
    public func unmount() throws {
        guard state.withLock({ $0.phase == .mounted }), FUSEMount.isMounted(mountpoint) else { return }
        try FUSEMount.unmount(mountpoint)
    }

    /// Unmounts the FUSE file system at `path`, whichever process serves it
    /// (`atrest unmount DIR`): as `unmount()`; a path that is not a FUSE
    /// mount point is refused (EINVAL), nothing else is ever unmounted.
    public static func unmount(_ path: String) throws {
        let mountpoint = resolve(path)
        guard let fields = mountInfo(mountpoint) else {
            throw FUSEError(.notADirectory, "\(mountpoint) is not a mount point", errno: EINVAL)
        }
        guard let separator = fields.firstIndex(of: "-"), separator + 1 < fields.endIndex,
              fields[separator + 1] == "fuse" || fields[separator + 1].hasPrefix("fuse.") else {
            throw FUSEError(.notADirectory, "\(mountpoint) is not a FUSE mount", errno: EINVAL)
        }
        if geteuid() == 0 {
            let device = FUSEMount.device(of: mountpoint)
            if umount2(mountpoint, 0) == 0 { return }
            guard errno == EBUSY else { throw FUSEError.lastErrno("unmounting \(mountpoint)") }
            guard umount2(mountpoint, Int32(MNT_DETACH)) == 0 else { throw FUSEError.lastErrno("unmounting \(mountpoint)") }
            if let device { FUSEMount.abortConnection(minor: device.minor) }
            return
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: access("/usr/bin/fusermount3", X_OK) == 0 ? "/usr/bin/fusermount3" : "/bin/fusermount3")
        process.arguments = ["-u", "-z", mountpoint]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw FUSEError(.notPermitted, "fusermount3 -u \(mountpoint) failed (status \(process.terminationStatus))", errno: EPERM)
        }
    }

    /// Aborts a FUSE connection through fusectl (mounted at
    /// /sys/fs/fuse/connections first when it is not: systemd mounts it at boot,
    /// a container may not). The kernel keeps a detached mount alive while
    /// files are open; aborting it fails them with ENOTCONN and ends the loop.
    private static func abortConnection(minor: Int) {
        let connections = "/sys/fs/fuse/connections"
        let abort = "\(connections)/\(minor)/abort"
        if !FileManager.default.fileExists(atPath: abort) {
            _ = Glibc.mount("fusectl", connections, "fusectl", 0, nil)
        }
        guard let handle = FileHandle(forWritingAtPath: abort) else { return }
        handle.write(Data("1".utf8))
        try? handle.close()
    }

    // MARK: Service

    /// Serves until unmounted; graceful shutdown unmounts. Mounts first if `mount()` was not called.
    public func run() async throws {
        if state.withLock({ $0.phase == .idle }) { try mount() }
        await withGracefulShutdownHandler {
            await waitUntilUnmounted()
        } onGracefulShutdown: {
            do { try self.unmount() } catch { FileHandle.standardError.write(Data("atrest-fuse: \(error)\n".utf8)) }
        }
    }

    // MARK: /proc/self/mountinfo

    /// Whether `path` (absolute) is a mount point now.
    public static func isMounted(_ path: String) -> Bool { mountInfo(path) != nil }

    private static func device(of path: String) -> (major: Int, minor: Int)? {
        guard let fields = mountInfo(path) else { return nil }
        let parts = fields[2].split(separator: ":")
        guard parts.count == 2, let major = Int(parts[0]), let minor = Int(parts[1]) else { return nil }
        return (major, minor)
    }

    /// The last /proc/self/mountinfo line whose mount point is `path` (octal escapes decoded), split in fields.
    private static func mountInfo(_ path: String) -> [Substring]? {
        guard let text = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return nil }
        var found: [Substring]?
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count > 4, unescape(fields[4]) == path { found = fields }
        }
        return found
    }

    /// mountinfo writes space, tab, newline and backslash as \ooo.
    static func unescape(_ field: Substring) -> String {
        var bytes: [UInt8] = []
        let utf8 = Array(field.utf8)
        var index = 0
        while index < utf8.count {
            if utf8[index] == UInt8(ascii: "\\"), index + 3 < utf8.count,
               let value = UInt8(String(decoding: utf8[(index + 1)...(index + 3)], as: UTF8.self), radix: 8) {
                bytes.append(value)
                index += 4
            } else {
                bytes.append(utf8[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
