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
/// Processes passed to `track` (and not `untrack`ed since) are killed (SIGKILL)
/// after the commands.
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
        let watch = """
            pids=' '
            while IFS= read -r line; do
              case "$line" in
                done) exit 0 ;;
                +*) pids="$pids${line#+} " ;;
                -*) pids=$(printf '%s' "$pids" | sed "s/ ${line#-} / /") ;;
              esac
            done
            """
        process.arguments = ["/bin/sh", "-c", watch + "\n" + (script.isEmpty ? ":" : script) + "; for p in $pids; do kill -9 $p; done"]
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

    /// Kill `pid` too if this process dies first.
    public func track(_ pid: Int32) { send("+\(pid)\n") }

    /// `pid` has been reaped: leave it alone.
    public func untrack(_ pid: Int32) { send("-\(pid)\n") }

    private func send(_ line: String) {
        lock.lock()
        defer { lock.unlock() }
        guard !dismissed else { return }
        try? writeEnd.write(contentsOf: Data(line.utf8))
    }

    static func quoted(_ argument: String) -> String {
        "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
