import AtRestSockets
import Logging
import Synchronization

/// Limits of one NBD server.
public struct NBDServerConfiguration: Sendable {
    /// Largest READ/WRITE payload (NBD_INFO_BLOCK_SIZE maximum); a larger
    /// READ gets EINVAL, a larger WRITE closes the connection (its data
    /// cannot be skipped safely).
    public var maxPayload: Int = 32 << 20
    /// Requests served at once per connection; the next request is read
    /// only when one of them has been answered.
    public var maxInFlight: Int = 16
    /// Largest option data during the handshake (names are at most 4 KiB).
    public var maxOptionLength: Int = 16 << 10
    /// Connections served at once; more are closed as soon as accepted.
    /// Each connection's blocking reads and writes hold threads of their own
    /// (AtRestSockets), so this bounds the gateway's threads too.
    public var maxConnections: Int = 64

    public init() {}
}

/// Serves `NBDExport`s over TCP: the fixed newstyle handshake (NBD_OPT_GO,
/// NBD_OPT_INFO, NBD_OPT_LIST, NBD_OPT_ABORT, the old NBD_OPT_EXPORT_NAME;
/// any other option gets NBD_REP_ERR_UNSUP), then simple replies. Requests
/// of one connection run concurrently (up to `maxInFlight`) and are
/// answered in any order by handle, each reply written whole. A client that
/// breaks the framing (bad magic, an oversized write) is disconnected; one
/// that vanishes mid-request only ends its own connection.
///
/// `run` serves until `stop` (or cancellation): stop accepting, stop
/// reading requests, answer those in flight, close.
public final class NBDServer: Sendable {
    private let listener: TCPListener
    private let exports: [String: any NBDExport]
    private let exportNames: [String]
    private let configuration: NBDServerConfiguration
    private let logger: Logger
    private let state = Mutex(State())

    private struct State {
        var stopped = false
        var nextID = 0
        var connections: [Int: TCPConnection] = [:]
    }

    public init(listener: TCPListener, exports: [any NBDExport], configuration: NBDServerConfiguration = .init(), logger: Logger) {
        self.listener = listener
        var byName: [String: any NBDExport] = [:]
        for export in exports { byName[export.name] = export }
        self.exports = byName
        exportNames = exports.map(\.name)
        self.configuration = configuration
        self.logger = logger
    }

    /// Serves until `stop` is called or the task is cancelled; returns once
    /// every connection has ended.
    public func run() async {
        await withTaskCancellationHandler {
            await withDiscardingTaskGroup { group in
                while true {
                    let connection: TCPConnection
                    do {
                        connection = try await listener.accept()
                    } catch let error as SocketError where error.kind == .closed {
                        break
                    } catch {
                        // EMFILE and the like: log, and let the next accept try again.
                        logger.warning("nbd: \(error)")
                        try? await Task.sleep(for: .milliseconds(100))
                        continue
                    }
                    guard let id = register(connection) else {
                        connection.close()
                        if state.withLock({ $0.stopped }) { break }
                        logger.warning("nbd: refused \(connection.peer): \(configuration.maxConnections) connections already")
                        continue
                    }
                    group.addTask {
                        await self.serve(connection)
                        self.state.withLock { _ = $0.connections.removeValue(forKey: id) }
                    }
                }
            }
        } onCancel: {
            stop()
        }
    }

    /// Stops gracefully: no new connections, no new requests; requests in
    /// flight are answered, then every connection closes and `run` returns.
    public func stop() {
        let connections = state.withLock { state in
            state.stopped = true
            return Array(state.connections.values)
        }
        listener.close()
        for connection in connections { connection.stopReading() }
    }

    private func register(_ connection: TCPConnection) -> Int? {
        state.withLock { state in
            if state.stopped || state.connections.count >= configuration.maxConnections { return nil }
            state.nextID += 1
            state.connections[state.nextID] = connection
            return state.nextID
        }
    }

    private func serve(_ connection: TCPConnection) async {
        logger.debug("nbd: connection from \(connection.peer)")
        do {
            if let (export, size) = try await handshake(connection) {
                logger.info("nbd: \(connection.peer) uses export '\(export.name)' (\(size) bytes)")
                try await transmit(connection, export: export, size: size)
            }
            logger.debug("nbd: \(connection.peer) disconnected")
        } catch let error as SocketError where error.kind == .endOfStream || error.kind == .closed {
            logger.debug("nbd: \(connection.peer) went away: \(error)")
        } catch {
            logger.notice("nbd: closing the connection from \(connection.peer): \(error)")
        }
        connection.close()
    }

    // MARK: Handshake

    /// Option haggling until NBD_OPT_GO / NBD_OPT_EXPORT_NAME picks an
    /// export (returned with its size) or the client aborts (nil).
    private func handshake(_ connection: TCPConnection) async throws -> (any NBDExport, UInt64)? {
        try await connection.writeAll(NBDWire.greeting())
        let (noZeroes, _) = try NBDWire.parseClientFlags(try await connection.readExactly(4))
        while true {
            let header = try NBDOptionHeader.parse(try await connection.readExactly(NBDWire.optionHeaderSize))
            guard header.length <= configuration.maxOptionLength else {
                throw NBDProtocolError(.tooLarge, "option \(header.option) with \(header.length) bytes of data")
            }
            let data = try await connection.readExactly(Int(header.length))
            let option = header.option
            switch NBDOption(rawValue: option) {
            case .abort:
                try? await connection.writeAll(NBDOptionReply.encode(option: option, type: .ack))
                return nil
            case .list:
                guard data.isEmpty else {
                    try await connection.writeAll(NBDOptionReply.error(option: option, .errInvalid, "NBD_OPT_LIST takes no data"))
                    continue
                }
                var reply: [UInt8] = []
                for name in exportNames { reply += NBDOptionReply.server(name: name) }
                reply += NBDOptionReply.encode(option: option, type: .ack)
                try await connection.writeAll(reply)
            case .exportName:
                // No error reply is possible here: an unknown export closes the connection.
                guard let name = String(validating: data, as: UTF8.self), let export = export(named: name) else {
                    throw NBDProtocolError(.invalid, "NBD_OPT_EXPORT_NAME for an unknown export")
                }
                let size = try await export.size
                try await connection.writeAll(NBDOptionReply.exportNameReply(size: size, flags: flags(of: export).rawValue, noZeroes: noZeroes))
                return (export, size)
            case .info, .go:
                if let chosen = try await answerInfo(option: option, data: data, connection), NBDOption(rawValue: option) == .go {
                    return chosen
                }
            default:
                try await connection.writeAll(NBDOptionReply.error(option: option, .errUnsupported, "option \(option) is not supported"))
            }
        }
    }

    /// Answers NBD_OPT_INFO / NBD_OPT_GO; the export and its size when the
    /// answer was a success.
    private func answerInfo(option: UInt32, data: [UInt8], _ connection: TCPConnection) async throws -> (any NBDExport, UInt64)? {
        let request: NBDExportRequest
        do {
            request = try NBDExportRequest.parse(data)
        } catch {
            try await connection.writeAll(NBDOptionReply.error(option: option, .errInvalid, error.message))
            return nil
        }
        guard let export = export(named: request.name) else {
            try await connection.writeAll(NBDOptionReply.error(option: option, .errUnknown, "no export named '\(request.name.prefix(256))'"))
            return nil
        }
        let wantsBlockSize = request.requests.contains(NBDInfoType.blockSize.rawValue)
        guard wantsBlockSize || export.minimumBlockSize <= 1 else {
            try await connection.writeAll(NBDOptionReply.error(
                option: option, .errBlockSizeRequired, "export '\(export.name)' needs \(export.minimumBlockSize)-byte aligned requests"))
            return nil
        }
        let size: UInt64
        do {
            size = try await export.size
        } catch {
            logger.warning("nbd: export '\(export.name)' is unavailable: \(error)")
            try await connection.writeAll(NBDOptionReply.error(option: option, .errUnknown, "export '\(export.name)' is unavailable"))
            return nil
        }
        var reply = NBDOptionReply.exportInfo(option: option, size: size, flags: flags(of: export).rawValue)
        if request.requests.contains(NBDInfoType.name.rawValue) {
            reply += NBDOptionReply.nameInfo(option: option, name: export.name)
        }
        if wantsBlockSize {
            reply += NBDOptionReply.blockSizeInfo(option: option, minimum: export.minimumBlockSize,
                                                  preferred: max(export.preferredBlockSize, export.minimumBlockSize),
                                                  maximum: UInt32(configuration.maxPayload))
        }
        reply += NBDOptionReply.encode(option: option, type: .ack)
        try await connection.writeAll(reply)
        return (export, size)
    }

    /// An export by name; the empty name is the only export when there is one.
    private func export(named name: String) -> (any NBDExport)? {
        if name.isEmpty, exportNames.count == 1 { return exports[exportNames[0]] }
        return exports[name]
    }

    private func flags(of export: any NBDExport) -> NBDTransmissionFlags {
        var flags: NBDTransmissionFlags = [.hasFlags, .sendFlush, .sendFUA, .sendTrim, .sendWriteZeroes]
        if export.isReadOnly { flags.insert(.readOnly) }
        if export.canMultiConn { flags.insert(.canMultiConn) }
        return flags
    }

    // MARK: Transmission

    /// Reads requests until NBD_CMD_DISC, the end of the stream or a broken
    /// frame, running each in a child task; returns once all are answered.
    private func transmit(_ connection: TCPConnection, export: any NBDExport, size: UInt64) async throws {
        let replies = ReplyWriter(connection: connection)
        let limits = RequestCheck(size: size, alignment: UInt64(max(export.minimumBlockSize, 1)),
                                  maxPayload: configuration.maxPayload, readOnly: export.isReadOnly)
        let logger = self.logger
        var failure: (any Error)?
        await withTaskGroup(of: Void.self) { group in
            var inFlight = 0
            while true {
                let request: NBDRequest
                var payload: [UInt8] = []
                do {
                    request = try NBDRequest.parse(try await connection.readExactly(NBDWire.requestHeaderSize))
                    if request.command == .disconnect { break }
                    if request.command == .write {
                        guard Int(request.length) <= configuration.maxPayload else {
                            throw NBDProtocolError(.tooLarge, "write of \(request.length) bytes (at most \(configuration.maxPayload))")
                        }
                        payload = try await connection.readExactly(Int(request.length))
                    }
                } catch {
                    failure = error
                    break
                }
                if inFlight >= configuration.maxInFlight {
                    await group.next()
                    inFlight -= 1
                }
                inFlight += 1
                let refusal = limits.refusal(of: request)
                group.addTask {
                    if let refusal {
                        await replies.send(NBDSimpleReply.encode(error: refusal, handle: request.handle))
                    } else {
                        await replies.send(await Self.perform(request, payload: payload, on: export, logger: logger))
                    }
                }
            }
        }
        if let failure { throw failure }
    }

    /// Runs one checked request against the export: the whole reply's bytes.
    private static func perform(_ request: NBDRequest, payload: [UInt8], on export: any NBDExport, logger: Logger) async -> [UInt8] {
        do {
            switch request.command {
            case .read:
                let data = try await export.read(offset: request.offset, length: Int(request.length))
                guard data.count == Int(request.length) else {
                    throw NBDError(.io, "export '\(export.name)' returned \(data.count) bytes for a read of \(request.length)")
                }
                return NBDSimpleReply.encode(error: .ok, handle: request.handle, data: data)
            case .write:
                try await export.write(offset: request.offset, data: payload)
            case .flush:
                try await export.flush()
            case .trim:
                try await export.trim(offset: request.offset, length: UInt64(request.length))
            case .writeZeroes:
                try await export.writeZeroes(offset: request.offset, length: UInt64(request.length))
            default:
                return NBDSimpleReply.encode(error: .invalid, handle: request.handle)
            }
            if request.flags.contains(.fua), request.command != .flush {
                try await export.flush()
            }
            return NBDSimpleReply.encode(error: .ok, handle: request.handle)
        } catch let error as NBDError {
            logger.notice("nbd: \(request.command.map { "\($0)" } ?? "command \(request.type)") at \(request.offset)+\(request.length) on '\(export.name)': \(error)")
            return NBDSimpleReply.encode(error: error.errno, handle: request.handle)
        } catch {
            logger.warning("nbd: \(request.command.map { "\($0)" } ?? "command \(request.type)") at \(request.offset)+\(request.length) on '\(export.name)': \(error)")
            return NBDSimpleReply.encode(error: .io, handle: request.handle)
        }
    }
}

/// The checks every request passes before it reaches the export.
struct RequestCheck {
    var size: UInt64
    var alignment: UInt64
    var maxPayload: Int
    var readOnly: Bool

    /// The errno that refuses `request`, or nil when the export may run it.
    func refusal(of request: NBDRequest) -> NBDErrno? {
        guard let command = request.command else { return .invalid }
        let allowed: NBDCommandFlags
        switch command {
        case .read: allowed = []
        case .write, .trim: allowed = [.fua]
        case .writeZeroes: allowed = [.fua, .noHole]
        case .flush: allowed = []
        default: return .invalid  // CACHE, BLOCK_STATUS, RESIZE: not advertised
        }
        guard request.flags.subtracting(allowed).isEmpty else { return .invalid }
        if command == .flush { return nil }
        if readOnly, command != .read { return .permission }
        let length = UInt64(request.length)
        guard length > 0 else { return .invalid }
        if command == .read, length > UInt64(maxPayload) { return .invalid }
        let (end, overflow) = request.offset.addingReportingOverflow(length)
        guard !overflow, end <= size else { return command == .write || command == .writeZeroes ? .noSpace : .invalid }
        guard request.offset % alignment == 0, length % alignment == 0 else { return .invalid }
        return nil
    }
}

/// Writes replies one at a time, each whole (the connection's writes run in
/// order on one thread, each to its last byte, so two replies never
/// interleave even when a second `send` starts while the first waits); after a failed write (the
/// client went away) the rest are dropped and the connection is closed so
/// the reader stops too.
actor ReplyWriter {
    private let connection: TCPConnection
    private var broken = false

    init(connection: TCPConnection) { self.connection = connection }

    func send(_ bytes: [UInt8]) async {
        guard !broken else { return }
        do {
            try await connection.writeAll(bytes)
        } catch {
            broken = true
            connection.close()
        }
    }
}
