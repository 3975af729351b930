import Foundation
import Synchronization

/// A real AtRest executable started for a test.
///
/// Finds the binary in `$ATREST_BIN_DIR` (fallback: the package's
/// `.build/debug`), waits for its `ready <name> key=value…` line, exposes
/// the fields (`endpoint`, …) and sends signals. Every launched process is
/// killed when its `ServiceProcess` is released or the test process exits,
/// so a failing test leaks nothing.
public final class ServiceProcess: @unchecked Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public let executable: String
    /// The parsed fields of the ready line, e.g. ["endpoint": "tcp://127.0.0.1:5555"].
    public private(set) var fields: [String: String] = [:]
    private let process = Process()
    private let output = LineBuffer()

    public var pid: Int32 { process.processIdentifier }
    public var endpoint: String { fields["endpoint"] ?? "" }
    public var isRunning: Bool { process.isRunning }

    /// Starts `executable` with `arguments` and waits for its ready line;
    /// its stderr is appended to `standardError` when given (else inherited).
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:],
        readyTimeout: Duration = .seconds(20), standardError: String? = nil
    ) throws {
        self.executable = executable
        // An absolute path runs as it is (e.g. `ip netns exec` wrapping a service).
        let url = executable.hasPrefix("/") ? URL(fileURLWithPath: executable)
            : ServiceProcess.binDirectory.appendingPathComponent(executable)
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw Failure(description: "\(url.path) is not built; run `swift build` or set ATREST_BIN_DIR")
        }
        process.executableURL = url
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        if let standardError {
            FileManager.default.createFile(atPath: standardError, contents: nil)
            guard let handle = FileHandle(forWritingAtPath: standardError) else {
                throw Failure(description: "cannot write \(standardError)")
            }
            handle.seekToEndOfFile()
            process.standardError = handle
        }
        try process.run()
        LaunchedProcesses.shared.add(process.processIdentifier)
        output.startReading(pipe.fileHandleForReading)
        let line: String
        do {
            line = try waitForLine(prefix: "ready ", timeout: readyTimeout)
        } catch {
            kill()
            throw Failure(description: "\(executable) did not print its ready line: \(error)")
        }
        for part in line.split(separator: " ").dropFirst(2) {
            guard let eq = part.firstIndex(of: "=") else { continue }
            fields[String(part[..<eq])] = String(part[part.index(after: eq)...])
        }
    }

    /// Waits for the next stdout line starting with `prefix` (lines already
    /// read count; each line is returned once).
    @discardableResult
    public func waitForLine(prefix: String, timeout: Duration = .seconds(10)) throws -> String {
        guard let line = output.take(prefix: prefix, timeout: timeout) else {
            throw Failure(description: "no line starting with '\(prefix)' from \(executable) within \(timeout)")
        }
        return line
    }

    public func signal(_ signal: Int32) {
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, signal)
    }

    public func stop() { signal(SIGSTOP) }
    public func resume() { signal(SIGCONT) }

    /// SIGKILL and reap.
    public func kill() {
        signal(SIGKILL)
        _ = waitForExit(timeout: .seconds(5))
    }

    /// SIGTERM, wait, then SIGKILL if needed; returns the exit status when it exited by itself.
    @discardableResult
    public func terminate(timeout: Duration = .seconds(10)) -> Int32? {
        signal(SIGCONT)
        signal(SIGTERM)
        if let status = waitForExit(timeout: timeout) { return status }
        kill()
        return nil
    }

    /// The exit status, or nil if still running after `timeout`.
    public func waitForExit(timeout: Duration) -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now >= deadline { return nil }
            usleep(5_000)
        }
        LaunchedProcesses.shared.remove(process.processIdentifier)
        return process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
    }

    deinit {
        if process.isRunning {
            Foundation.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        LaunchedProcesses.shared.remove(process.processIdentifier)
    }

    /// `$ATREST_BIN_DIR`, else `.build/debug` of this package.
    public static var binDirectory: URL {
        if let dir = ProcessInfo.processInfo.environment["ATREST_BIN_DIR"], !dir.isEmpty {
            return URL(fileURLWithPath: dir)
        }
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug")
    }
}

/// Lines read from a child's stdout on a background thread.
private final class LineBuffer: @unchecked Sendable {
    private let condition = NSCondition()
    private var lines: [String] = []
    private var partial = Data()
    private var closed = false

    func startReading(_ handle: FileHandle) {
        let thread = Thread { [self] in
            while true {
                let data = handle.availableData
                condition.lock()
                if data.isEmpty {
                    // Closed here: the handle is not released with the Process (one read end leaked per start).
                    try? handle.close()
                    closed = true
                    condition.broadcast()
                    condition.unlock()
                    return
                }
                partial.append(data)
                while let newline = partial.firstIndex(of: 0x0A) {
                    lines.append(String(decoding: partial[partial.startIndex..<newline], as: UTF8.self))
                    partial.removeSubrange(partial.startIndex...newline)
                }
                condition.broadcast()
                condition.unlock()
            }
        }
        thread.start()
    }

    func take(prefix: String, timeout: Duration) -> String? {
        let deadline = Date().addingTimeInterval(Double(timeout.components.seconds)
            + Double(timeout.components.attoseconds) / 1e18)
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let index = lines.firstIndex(where: { $0.hasPrefix(prefix) }) {
                return lines.remove(at: index)
            }
            if closed || !condition.wait(until: deadline) { return nil }
        }
    }
}

/// Every child still running, killed at exit even if a test forgot it, and
/// by an `ExitCleanup` watcher if the test process is killed.
private final class LaunchedProcesses: Sendable {
    static let shared: LaunchedProcesses = {
        atexit { LaunchedProcesses.shared.killAll() }
        return LaunchedProcesses()
    }()

    private let pids = Mutex<Set<Int32>>([])
    private let watcher = try? ExitCleanup([])

    func add(_ pid: Int32) {
        pids.withLock { _ = $0.insert(pid) }
        watcher?.track(pid)
    }

    func remove(_ pid: Int32) {
        guard pids.withLock({ $0.remove(pid) }) != nil else { return }
        watcher?.untrack(pid)
    }

    func killAll() {
        for pid in pids.withLock({ $0 }) { kill(pid, SIGKILL) }
        watcher?.dismiss()
    }
}
