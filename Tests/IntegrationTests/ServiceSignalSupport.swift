import AtRestTesting
import Foundation
import Synchronization

/// The four services as the lifecycle checks start them: each on fresh data
/// under `root`, its dependencies (identity, vault, front door) already
/// running from `LocalCluster` flags, logging at `notice` so the shutdown
/// line is visible.
enum LifecycleService: String, CaseIterable, Sendable, CustomStringConvertible {
    case identity = "atrest-identity", vault = "atrest-keyvault", frontDoor = "atrest-frontdoor", worker = "atrest-worker"
    var description: String { rawValue }

    /// The line every service logs (notice) when a signal starts its graceful shutdown (`ServiceMain`).
    static let shutdownLine = "shutting down gracefully"

    /// Where it answers `atrest.v1.Status/Get`.
    func statusEndpoint(_ process: ServiceProcess) -> String { self == .worker ? process.fields["status"] ?? "" : process.endpoint }

    func arguments(_ deps: LifecycleDependencies, data: String) -> [String] {
        let root = deps.root
        let flags: [String]
        switch self {
        case .identity:
            flags = ["--endpoint", "tcp://127.0.0.1:*", "--data-dir", data, "--service-principal", "frontdoor"]
        case .vault:
            flags = ["--endpoint", "tcp://127.0.0.1:*", "--events-endpoint", "tcp://127.0.0.1:*", "--data-dir", data,
                     "--identity-endpoint", deps.identity.endpoint, "--credentials-file", LocalCluster.credentialsFile(root: root, "keyvault")]
        case .frontDoor:
            flags = ["--endpoint", "tcp://127.0.0.1:*", "--workers", "tcp://127.0.0.1:*", "--identity", deps.identity.endpoint,
                     "--vault", deps.vault.endpoint, "--vault-events", deps.vault.fields["events"] ?? "", "--data-dir", data,
                     "--credentials-file", LocalCluster.credentialsFile(root: root, "frontdoor")]
        case .worker:
            flags = ["--frontdoor", deps.frontDoor.fields["workers"] ?? "", "--identity", deps.identity.endpoint,
                     "--vault", deps.vault.endpoint, "--vault-events", deps.vault.fields["events"] ?? "", "--data-dir", data,
                     "--credentials-file", LocalCluster.credentialsFile(root: root, "worker"), "--name", "lifecycle",
                     "--status-endpoint", "tcp://127.0.0.1:*"]
        }
        return flags + ["--log-level", "notice"]
    }
}

/// A running identity, vault and front door (what the other services need to start).
final class LifecycleDependencies: @unchecked Sendable {
    let root = NSTemporaryDirectory() + "atrest-lifecycle-\(UUID().uuidString)"
    let identity: ServiceProcess
    let vault: ServiceProcess
    let frontDoor: ServiceProcess
    private let counter = Mutex(0)

    init() throws {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        identity = try ServiceProcess("atrest-identity", LocalCluster.identityArguments(root: root))
        vault = try ServiceProcess("atrest-keyvault", LocalCluster.vaultArguments(root: root, identity: identity.endpoint))
        frontDoor = try ServiceProcess("atrest-frontdoor", [
            "--endpoint", "tcp://127.0.0.1:*", "--workers", "tcp://127.0.0.1:*", "--identity", identity.endpoint,
            "--vault", vault.endpoint, "--vault-events", vault.fields["events"] ?? "", "--data-dir", "\(root)/frontdoor",
            "--credentials-file", LocalCluster.credentialsFile(root: root, "frontdoor"), "--log-level", "warning",
        ])
    }

    /// A fresh data directory for one start.
    func freshData(_ service: LifecycleService) -> String {
        let n = counter.withLock { $0 += 1; return $0 }
        return "\(root)/\(service.rawValue)-\(n)"
    }

    deinit {
        _ = frontDoor.terminate()
        _ = vault.terminate()
        _ = identity.terminate()
        try? FileManager.default.removeItem(atPath: root)
    }
}

/// A service started without waiting for its ready line, its stdout and
/// stderr collected, so a test can signal it at any point of its start.
final class LaunchedService: @unchecked Sendable {
    let process = Process()
    private let out = Collected()
    private let err = Collected()
    private let readers = DispatchGroup()
    let started = ContinuousClock.now

    init(_ service: LifecycleService, _ arguments: [String]) throws {
        process.executableURL = ServiceProcess.binDirectory.appendingPathComponent(service.rawValue)
        process.arguments = arguments
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        read(stdout.fileHandleForReading, into: out)
        read(stderr.fileHandleForReading, into: err)
    }

    final class Collected: Sendable {
        private let text = Mutex("")
        func append(_ data: Data) { text.withLock { $0 += String(decoding: data, as: UTF8.self) } }
        var value: String { text.withLock { $0 } }
    }

    private func read(_ handle: FileHandle, into text: Collected) {
        readers.enter()
        Thread { [readers] in
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                text.append(data)
            }
            try? handle.close()
            readers.leave()
        }.start()
    }

    var stdout: String { out.value }
    var stderr: String { err.value }
    var isReady: Bool { stdout.contains("ready ") }

    /// Waits (polling the collected output) until the ready line is there or the process is gone.
    func waitForReady(timeout: Duration = .seconds(20)) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !isReady, process.isRunning, ContinuousClock.now < deadline { usleep(1_000) }
        return isReady
    }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Whether the process has installed handlers for SIGTERM and SIGINT
    /// (`SigCgt` in /proc/<pid>/status). Before that — exec, the dynamic
    /// loader, the Swift runtime — no program can catch a signal.
    var catchesTermination: Bool {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("SigCgt:") }),
              let mask = UInt64(line.dropFirst("SigCgt:".count).trimmingCharacters(in: .whitespaces), radix: 16) else { return false }
        return mask & (1 << (UInt64(SIGTERM) - 1)) != 0 && mask & (1 << (UInt64(SIGINT) - 1)) != 0
    }

    /// How it ended: its exit status, or the signal that killed it; nil if it had to be killed after `timeout`.
    func waitForEnd(timeout: Duration = .seconds(20)) -> (status: Int32, killedBy: Int32?)? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { usleep(5_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            readers.wait()
            return nil
        }
        process.waitUntilExit()
        readers.wait()
        return process.terminationReason == .exit ? (process.terminationStatus, nil) : (0, process.terminationStatus)
    }
}

/// The descriptors this process has open (`/proc/self/fd`), each with what it points at.
func openDescriptors() -> [Int32: String] {
    var result: [Int32: String] = [:]
    guard let dir = opendir("/proc/self/fd") else { return result }
    let own = dirfd(dir)
    defer { closedir(dir) }
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        guard let fd = Int32(name), fd != own else { continue }
        var buffer = [CChar](repeating: 0, count: 512)
        let n = readlink("/proc/self/fd/\(name)", &buffer, buffer.count - 1)
        let target = n > 0 ? String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
        // The access mode tells a pipe's read end from its write end.
        let info = (try? String(contentsOfFile: "/proc/self/fdinfo/\(name)", encoding: .utf8)) ?? ""
        let flags = info.split(separator: "\n").first { $0.hasPrefix("flags:") }.flatMap { Int($0.dropFirst(6).trimmingCharacters(in: .whitespaces), radix: 8) }
        let mode = flags.map { $0 & 3 == 1 ? " (write end)" : $0 & 3 == 0 ? " (read end)" : "" } ?? ""
        result[fd] = target.hasPrefix("pipe:") ? target + mode : target
    }
    return result
}
