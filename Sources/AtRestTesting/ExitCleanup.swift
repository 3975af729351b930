import Foundation

/// Commands that run when this process ends, however it ends (a test killed
/// with SIGKILL included), unless `dismiss` is called first: for what outlives
/// a test process by itself, such as Ceph daemons and network namespaces.
///
/// A detached `sh` in its own session (so a signal to the test's process
/// group spares it) blocks reading a pipe whose only write end this process
/// holds (close-on-exec, so no child inherits it). When this process ends the
/// kernel closes that end: the read sees end-of-file and the commands run.
/// `dismiss` writes a line instead, and the shell exits without running them.
public final class ExitCleanup: @unchecked Sendable {
    private let writeEnd: FileHandle
    private let lock = NSLock()
    private var dismissed = false

    /// `commands`: each an argument vector (run in order, failures ignored).
    public init(_ commands: [[String]]) throws {
        let pipe = Pipe()
        writeEnd = pipe.fileHandleForWriting
        _ = fcntl(writeEnd.fileDescriptor, F_SETFD, FD_CLOEXEC)
        let script = commands.map { $0.map(Self.quoted).joined(separator: " ") + " >/dev/null 2>&1" }.joined(separator: "; ")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        process.arguments = ["/bin/sh", "-c", "if IFS= read -r line; then exit 0; fi; \(script)"]
        process.standardInput = pipe.fileHandleForReading
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        try? pipe.fileHandleForReading.close()
    }

    /// The owner cleaned up itself: the commands will not run.
    public func dismiss() {
        lock.lock()
        defer { lock.unlock() }
        guard !dismissed else { return }
        dismissed = true
        try? writeEnd.write(contentsOf: Data("done\n".utf8))
        try? writeEnd.close()
    }

    static func quoted(_ argument: String) -> String {
        "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
