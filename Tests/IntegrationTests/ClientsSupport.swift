import AtRestTesting
import Foundation
import Synchronization
import Testing

/// Runs the other-language clients (clients/python, clients/c) as
/// subprocesses for the interop tests, and checks their toolchain first so a
/// missing package fails with the command that installs it (never a skip).
enum ClientTools {
    /// Debian's interpreter: the `python3` on PATH may be a pyenv build without pyzmq.
    static let python = "/usr/bin/python3"
    static let setupHint = "install the client test dependencies with `scripts/setup.sh --test` (python3-zmq, python3-protobuf, python3-cryptography, protobuf-compiler, a C compiler)"

    /// The repository root (this file is Tests/IntegrationTests/ClientsSupport.swift).
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    struct Output {
        /// The exit status, or 128 + the signal that ended the process (the
        /// shell's convention: a crash reads 139, a timeout kill 137).
        var status: Int32
        var stdout: String
        var stderr: String
        var lines: [String] { stdout.split(separator: "\n").map(String.init) }
        /// The `key=value` fields of the first stdout line starting with `prefix`.
        func fields(_ prefix: String) -> [String: String]? {
            guard let line = lines.first(where: { $0.hasPrefix(prefix + " ") || $0 == prefix }) else { return nil }
            var fields: [String: String] = [:]
            for part in line.split(separator: " ").dropFirst(prefix.split(separator: " ").count) {
                guard let eq = part.firstIndex(of: "=") else { continue }
                fields[String(part[..<eq])] = String(part[part.index(after: eq)...])
            }
            return fields
        }
        var transcript: String {
            let ended = status > 128 ? "exit \(status) (signal \(status - 128))" : "exit \(status)"
            return "\(ended)\n--- stdout\n\(stdout)--- stderr\n\(stderr)"
        }
    }

    /// Runs `executable` to completion without blocking the cooperative pool
    /// (termination handler + continuation; output goes to files, so a
    /// chatty child can never fill a pipe and stall).
    /// A run still going after `timeout` is killed (SIGKILL: status 137).
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                    in directory: String, timeout: Duration? = nil) async throws -> Output {
        let id = UUID().uuidString.prefix(8)
        let outPath = "\(directory)/run-\(id).out", errPath = "\(directory)/run-\(id).err"
        FileManager.default.createFile(atPath: outPath, contents: nil)
        FileManager.default.createFile(atPath: errPath, contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = out
        process.standardError = err
        let exited = ExitFlag()
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = {
                exited.state.withLock { $0 = true }
                continuation.resume(returning: $0.terminationReason == .exit ? $0.terminationStatus : 128 + $0.terminationStatus)
            }
            do { try process.run() } catch { continuation.resume(throwing: error) }
            if let timeout {
                let pid = process.processIdentifier
                Task.detached {
                    try? await Task.sleep(for: timeout)
                    exited.state.withLock { if !$0 { _ = kill(pid, SIGKILL) } }
                }
            }
        }
        try? out.close()
        try? err.close()
        return Output(status: status, stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }

    /// Fails the test (with the install command) unless /usr/bin/python3 can
    /// import `modules` and protoc is installed.
    static func requirePython(in directory: String, modules: [String] = ["zmq", "google.protobuf"]) async throws {
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw Failure("\(python) is missing; \(setupHint)")
        }
        let probe = try await run(python, ["-c", "import " + modules.joined(separator: ", ")], in: directory)
        guard probe.status == 0 else {
            throw Failure("\(python) cannot import \(modules.joined(separator: "/")) (\(probe.stderr.trimmingCharacters(in: .whitespacesAndNewlines))); \(setupHint)")
        }
        guard let protoc = which("protoc") else { throw Failure("protoc is not on PATH; \(setupHint)") }
        _ = protoc
    }

    /// The Python client as users install it: `pip install clients/python`
    /// into a virtual environment (once per test process, on first use: the
    /// build generates the protobuf modules, pyzmq and protobuf come as its
    /// declared dependencies), with atrest_example.py copied beside it, out
    /// of the source tree: nothing of clients/python is importable there but
    /// the installed package. The tests of the Python client run this.
    struct InstalledPython: Sendable {
        let python: String
        let example: String
        let directory: String

        /// Runs the example with `arguments` (no PYTHONPATH; a proto directory
        /// that does not exist, so the modules can only come from the package).
        func example(_ arguments: [String], in directory: String, timeout: Duration? = nil) async throws -> Output {
            try await ClientTools.run(python, [example] + arguments + ["--proto-dir", self.directory + "/no-protos-here"],
                                      environment: ["PYTHONPATH": ""], in: directory, timeout: timeout)
        }
    }

    static func installedPython() async throws -> InstalledPython { try await installation.value }

    private static let installation = Task<InstalledPython, any Error> {
        let directory = NSTemporaryDirectory() + "atrest-python-client-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory + "/run", withIntermediateDirectories: true)
        ScratchDirectories.removeAtExit(directory)  // the suite's virtual environment (31 MB), shared by its tests
        guard FileManager.default.isExecutableFile(atPath: python) else { throw Failure("\(python) is missing; \(setupHint)") }
        let venv = try await run(python, ["-m", "venv", directory + "/venv"], in: directory)
        guard venv.status == 0 else { throw Failure("python3 -m venv failed (python3-venv; \(setupHint)): \(venv.transcript)") }
        let install = try await run(directory + "/venv/bin/pip", ["install", "--quiet", "\(repoRoot)/clients/python"], in: directory,
                                    timeout: .seconds(600))
        guard install.status == 0 else { throw Failure("pip install clients/python failed: \(install.transcript)") }
        try FileManager.default.copyItem(atPath: "\(repoRoot)/clients/python/atrest_example.py", toPath: directory + "/run/atrest_example.py")
        return InstalledPython(python: directory + "/venv/bin/python", example: directory + "/run/atrest_example.py", directory: directory)
    }

    /// `protoc --python_out` over proto/atrest/v1 into `directory`: the
    /// Python classes always come from today's schema, never from a copy.
    static func generatePython(into directory: String) async throws {
        let protos = try FileManager.default.contentsOfDirectory(atPath: "\(repoRoot)/proto/atrest/v1")
            .filter { $0.hasSuffix(".proto") }.sorted().map { "\(repoRoot)/proto/atrest/v1/\($0)" }
        let result = try await run(which("protoc")!, ["-I", "\(repoRoot)/proto", "--python_out=\(directory)"] + protos,
                                   in: directory)
        guard result.status == 0 else { throw Failure("protoc failed: \(result.transcript)") }
    }

    /// Compiles clients/c/`source` against the committed protobuf-c code.
    static func compileC(_ source: String, messages: [String], output: String, in directory: String) async throws {
        guard let cc = which("cc") else { throw Failure("no C compiler (`cc`) on PATH; \(setupHint)") }
        let generated = messages.map { "\(repoRoot)/Sources/CAtRestProto/atrest/v1/\($0).pb-c.c" }
        let result = try await run(cc, ["-std=c11", "-Wall", "-Werror", "-O1", "-I", "\(repoRoot)/Sources/CAtRestProto/include",
                                        "\(repoRoot)/clients/c/\(source)"] + generated + ["-lzmq", "-lprotobuf-c", "-o", output],
                                   in: directory)
        guard result.status == 0 else { throw Failure("cc failed (libzmq3-dev and libprotobuf-c-dev needed): \(result.transcript)") }
    }

    static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") {
            return "\(dir)/\(name)"
        }
        return nil
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}

/// Whether a child has exited, shared with the task that may kill it.
private final class ExitFlag: Sendable {
    let state = Mutex(false)
}
