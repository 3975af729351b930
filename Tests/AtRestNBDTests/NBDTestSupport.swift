import AtRestNBD
import AtRestSockets
import Foundation
import Logging
import Synchronization
import Testing

/// An `NBDServer` on a free loopback port serving one `FileExport` in a
/// fresh directory, for tests of the protocol layer with real NBD clients.
struct NBDFixture {
    let directory: String
    let export: FileExport
    let server: NBDServer
    let port: UInt16
    let serving: Task<Void, Never>

    var uri: String { "nbd://127.0.0.1:\(port)/\(export.name)" }

    static func start(name: String = "scratch", size: UInt64 = 16 << 20, minimumBlockSize: UInt32 = 512,
                      configuration: NBDServerConfiguration = .init()) throws -> NBDFixture {
        let directory = NSTemporaryDirectory() + "atrest-nbd-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let export = try FileExport(name: name, path: directory + "/export.img", size: size, minimumBlockSize: minimumBlockSize)
        let listener = try TCPListener(host: "127.0.0.1", port: 0)
        var logger = Logger(label: "nbd-test")
        logger.logLevel = .notice
        let server = NBDServer(listener: listener, exports: [export], configuration: configuration, logger: logger)
        let serving = Task { await server.run() }
        return NBDFixture(directory: directory, export: export, server: server, port: listener.port, serving: serving)
    }

    /// Stops the server gracefully (run returns) and removes the directory.
    func finish() async {
        server.stop()
        await serving.value
        export.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    static func with<T>(name: String = "scratch", size: UInt64 = 16 << 20, minimumBlockSize: UInt32 = 512,
                        _ body: (NBDFixture) async throws -> T) async throws -> T {
        let fixture = try start(name: name, size: size, minimumBlockSize: minimumBlockSize)
        do {
            let result = try await body(fixture)
            await fixture.finish()
            return result
        } catch {
            await fixture.finish()
            throw error
        }
    }

    func randomFile(_ name: String, size: Int) throws -> (path: String, bytes: [UInt8]) {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0 ..< size / 8).flatMap { _ -> [UInt8] in
            let value = generator.next() as UInt64
            return withUnsafeBytes(of: value) { Array($0) }
        }
        let path = directory + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return (path, bytes)
    }

    func contents(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }
}

/// A finished child process.
struct ToolOutput {
    var status: Int32
    var stdout: String
    var stderr: String
    var transcript: String { "exit \(status)\n--- stdout\n\(stdout)--- stderr\n\(stderr)" }
}

enum Tools {
    static let setupHint = "run scripts/setup.sh --test (qemu-utils, libnbd-bin, python3-libnbd)"

    /// The tool's absolute path, or a failure naming the package to install.
    static func require(_ tool: String) throws -> String {
        for directory in ["/usr/bin", "/usr/local/bin", "/bin"] where FileManager.default.isExecutableFile(atPath: "\(directory)/\(tool)") {
            return "\(directory)/\(tool)"
        }
        throw NBDTestFailure("\(tool) is not installed; \(setupHint)")
    }

    /// Runs a tool to completion without blocking the cooperative pool
    /// (termination handler + continuation; output to files, never a full pipe).
    static func run(_ tool: String, _ arguments: [String], in directory: String) async throws -> ToolOutput {
        let executable = try require(tool)
        let id = UUID().uuidString.prefix(8)
        let outPath = "\(directory)/\(tool)-\(id).out", errPath = "\(directory)/\(tool)-\(id).err"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = out
        process.standardError = err
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
        try? out.close()
        try? err.close()
        return ToolOutput(status: status, stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                          stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }

    /// Runs a tool and fails with its transcript unless it exits 0.
    @discardableResult
    static func succeed(_ tool: String, _ arguments: [String], in directory: String) async throws -> ToolOutput {
        let output = try await run(tool, arguments, in: directory)
        guard output.status == 0 else { throw NBDTestFailure("\(tool) \(arguments.joined(separator: " ")) failed: \(output.transcript)") }
        return output
    }
}

struct NBDTestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A hand-written NBD client over a raw socket, for bytes no real client sends.
struct RawNBDClient {
    let connection: TCPConnection

    /// Connects and reads the greeting; sends the client flags.
    static func connect(port: UInt16, flags: UInt32 = NBDWire.clientFlagFixedNewstyle | NBDWire.clientFlagNoZeroes) async throws -> RawNBDClient {
        let connection = try await TCPConnection.connect(host: "127.0.0.1", port: port)
        let greeting = try await connection.readExactly(18)
        #expect(greeting == NBDWire.greeting())
        var bytes: [UInt8] = []
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: flags >> UInt32(shift))) }
        try await connection.writeAll(bytes)
        return RawNBDClient(connection: connection)
    }

    func sendOption(_ option: UInt32, _ data: [UInt8]) async throws {
        try await connection.writeAll(NBDOptionHeader(option: option, length: UInt32(data.count)).encoded() + data)
    }

    /// One option reply: its type and data.
    func readOptionReply() async throws -> (option: UInt32, type: UInt32, data: [UInt8]) {
        let header = try await connection.readExactly(20)
        let length = Int(Self.uint32(header, 16))
        let data = try await connection.readExactly(length)
        return (Self.uint32(header, 8), Self.uint32(header, 12), data)
    }

    /// NBD_OPT_GO for `name` asking for block sizes; the size from NBD_INFO_EXPORT.
    func go(_ name: String) async throws -> UInt64 {
        try await sendOption(NBDOption.go.rawValue, NBDExportRequest(name: name, requests: [NBDInfoType.blockSize.rawValue]).encoded())
        var size: UInt64?
        while true {
            let reply = try await readOptionReply()
            if reply.type == NBDReplyType.ack.rawValue { break }
            guard reply.type == NBDReplyType.info.rawValue else { throw NBDTestFailure("GO refused: type \(reply.type)") }
            if reply.data.count == 12, reply.data[1] == 0 {
                size = reply.data[2 ..< 10].reduce(0) { $0 << 8 | UInt64($1) }
            }
        }
        guard let size else { throw NBDTestFailure("GO without NBD_INFO_EXPORT") }
        return size
    }

    /// Sends a request and reads its simple reply (`dataLength` bytes of data on success).
    func call(_ request: NBDRequest, payload: [UInt8] = [], dataLength: Int = 0) async throws -> (reply: NBDSimpleReply, data: [UInt8]) {
        try await connection.writeAll(request.encoded() + payload)
        let reply = try NBDSimpleReply.parse(try await connection.readExactly(NBDSimpleReply.headerSize))
        let data = reply.error == 0 ? try await connection.readExactly(dataLength) : []
        return (reply, data)
    }

    /// True once the server has closed the connection (a read ends or fails).
    func isClosedByServer() async -> Bool {
        do {
            while true { _ = try await connection.readExactly(1) }
        } catch {
            return true
        }
    }

    static func uint32(_ bytes: [UInt8], _ index: Int) -> UInt32 {
        bytes[index ..< index + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }
}
