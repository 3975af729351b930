import Foundation
import Glibc

/// `--background` of the mounting commands (atrest mount,
/// atrest-fuse-passthrough): the command starts itself again without the
/// flag, in a session of its own, waits for its ready line and prints it
/// (or ends with its status when it fails to mount).
public enum FUSEBackground {
    /// Set in the environment of the process `start` runs.
    public static let childVariable = "ATREST_FUSE_BACKGROUND_CHILD"

    /// Whether this process is the one `start` ran.
    public static var isChild: Bool { ProcessInfo.processInfo.environment[childVariable] == "1" }

    /// In the child, before mounting: leave the terminal's session (its Ctrl-C and hang-up no longer reach the mount).
    public static func enterOwnSession() { if isChild { _ = setsid() } }

    /// In the child, once mounted: the starting process showed errors up to
    /// here; later ones would go to a stderr nobody reads, and stdout is the
    /// starting process's pipe, closed once it has the ready line.
    public static func detachOutput() {
        guard isChild else { return }
        let null = open("/dev/null", O_WRONLY)
        if null >= 0 {
            dup2(null, 2)
            close(null)
        }
        signal(SIGPIPE, SIG_IGN)
    }

    /// Runs this command again without `flag`, prints its ready line and
    /// returns 0; or returns the status to exit with when it ended first.
    public static func start(dropping flag: String = "--background") throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0].contains("/")
            ? CommandLine.arguments[0] : "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = Array(CommandLine.arguments.dropFirst()).filter { $0 != flag }
        process.environment = ProcessInfo.processInfo.environment.merging([childVariable: "1"]) { $1 }
        process.standardInput = FileHandle.nullDevice
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        var pending = Data()
        let reader = pipe.fileHandleForReading
        while true {
            let chunk = reader.availableData
            pending.append(chunk)
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                pending = Data(pending[(newline + 1)...])
                if line.hasPrefix("ready ") {
                    print(line)
                    fflush(nil)
                    return 0
                }
            }
            if chunk.isEmpty { break }
        }
        process.waitUntilExit()
        return process.terminationStatus == 0 ? 1 : process.terminationStatus
    }
}
