import AtRestTesting
import Foundation
import Testing

/// Whether this machine can mount FUSE file systems (the tests skip with this message otherwise).
let fuseAvailable = FileManager.default.fileExists(atPath: "/dev/fuse")
let noFUSE = "no /dev/fuse here: the FUSE tests need it (and root, or fusermount3)"

/// A temporary directory removed when released.
final class TemporaryDirectory: @unchecked Sendable {
    let path: String
    init(_ label: String) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("atrest-fuse-\(label)-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func child(_ name: String) throws -> String {
        let child = path + "/" + name
        try FileManager.default.createDirectory(atPath: child, withIntermediateDirectories: true)
        return child
    }
    deinit {
        // Never remove through a mount left behind.
        if !isMountpoint(path + "/mnt") { try? FileManager.default.removeItem(atPath: path) }
    }
}

/// Whether `path` is a mount point in /proc/mounts (octal escapes decoded).
func isMountpoint(_ path: String) -> Bool {
    guard let text = try? String(contentsOfFile: "/proc/mounts", encoding: .utf8) else { return false }
    return text.split(separator: "\n").contains { line in
        let fields = line.split(separator: " ")
        guard fields.count > 1 else { return false }
        return fields[1].replacingOccurrences(of: "\\040", with: " ").replacingOccurrences(of: "\\011", with: "\t")
            .replacingOccurrences(of: "\\134", with: "\\") == path
    }
}

/// atrest-fuse-passthrough serving `<tmp>/src` at `<tmp>/mnt`.
final class PassthroughMount: @unchecked Sendable {
    let directory: TemporaryDirectory
    let source: String
    let mountpoint: String
    let process: ServiceProcess

    init(_ label: String, arguments: [String] = []) throws {
        directory = try TemporaryDirectory(label)
        source = try directory.child("src")
        mountpoint = try directory.child("mnt")
        process = try ServiceProcess("atrest-fuse-passthrough", [source, mountpoint] + arguments)
    }

    /// SIGTERM and the exit status (nil: had to be killed).
    @discardableResult
    func stop() -> Int32? {
        let status = process.terminate(timeout: .seconds(20))
        if isMountpoint(mountpoint) { _ = run("/usr/bin/umount", ["-l", mountpoint]) }
        return status
    }

    deinit { stop() }
}

struct CommandResult {
    var status: Int32
    var output: String
}

/// Runs a command to the end, stdout and stderr together.
@discardableResult
func run(_ executable: String, _ arguments: [String], in directory: String? = nil) -> CommandResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    do { try process.run() } catch { return CommandResult(status: -1, output: "\(executable): \(error)") }
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return CommandResult(status: process.terminationStatus, output: output)
}

enum ServiceProcessPath {
    static var passthrough: String { ServiceProcess.binDirectory.appendingPathComponent("atrest-fuse-passthrough").path }
}
