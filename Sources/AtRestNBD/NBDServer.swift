import AtRestSockets
import Logging
import Synchronization

/// Limits of one NBD server.
public struct NBDServerConfiguration: Sendable {
    /// Largest READ/WRITE payload (NBD_INFO_BLOCK_SIZE maximum); a larger
    /// READ or WRITE gets EINVAL (a refused WRITE's data is read and dropped
    /// if it is at most 32 MiB, the spec's bound; a longer one closes the
    /// connection).
    public var maxPayload: Int = 32 << 20
    /// Requests served at once per connection; the next request is read
    /// only when one of them has been answered.
    public var maxInFlight: Int = 16
    /// Largest option data during the handshake (names are at most 4 KiB);
    /// more is read and dropped and the option refused with
    /// NBD_REP_ERR_TOO_BIG (an NBD_OPT_EXPORT_NAME, which has no error
    /// reply, closes the connection).
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
/// answered in any order by handle, each reply written whole. The protocol
/// itself is `NBDSession`'s (bytes in, events out); this class owns the
/// sockets, the tasks and the export calls. A client that breaks the
/// framing (bad magic, a WRITE over 32 MiB) is disconnected; one that
/// vanishes mid-request only ends its own connection.
///
/// `run` serves until `stop` (or cancellation): stop accepting, stop
/// reading requests, answer those in flight, close.
public final class NBDServer: Sendable {
    private let listener: TCPListener
    private let exportList: [any NBDExport]
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
        exportList = exports
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

    /// One connection: `NBDSession` parses and answers the protocol; this
    /// loop reads what it wants, sends what it says and runs its requests,
    /// each in a child task (up to `maxInFlight`), answered by handle.
    private func serve(_ connection: TCPConnection) async {
        logger.debug("nbd: connection from \(connection.peer)")
        var session = NBDSession(exports: exportList, configuration: configuration)
        let replies = ReplyWriter(connection: connection)
        let maxInFlight = configuration.maxInFlight
        let logger = self.logger
        var ending: (any Error)?
        await replies.send(session.greeting)
        await withTaskGroup(of: Void.self) { group in
            var export: (any NBDExport)?
            var inFlight = 0
            events: while true {
                // The next request is taken (and read) only once fewer than maxInFlight are running.
                while inFlight >= maxInFlight {
                    await group.next()
                    inFlight -= 1
                }
                guard let event = session.next() else {
                    // 0 only while a size is awaited (answered above) or once closed: never spin on it.
                    let wanted = session.wanted
                    guard wanted > 0 else {
                        ending = NBDProtocolError(.invalid, "the NBD session stopped wanting bytes")
                        break events
                    }
                    do {
                        // Up to `readAhead` of what the client sent already comes along (the requests a
                        // queue depth keeps in flight, parsed from one read); a large payload is read
                        // exactly, straight into the array the export gets.
                        let bytes = wanted >= Self.readAhead ? try await connection.readExactly(wanted)
                            : try await connection.readAtLeast(wanted, upTo: Self.readAhead)
                        session.receive(bytes)
                    } catch {
                        ending = error
                        break events
                    }
                    continue
                }
                switch event {
                case .send(let bytes):
                    await replies.send(bytes)
                case .size(let chosen):
                    do {
                        session.sized(try await chosen.size)
                    } catch {
                        logger.warning("nbd: export '\(chosen.name)' is unavailable: \(error)")
                        session.sized(nil)
                    }
                case .transmit(let chosen, let size):
                    logger.info("nbd: \(connection.peer) uses export '\(chosen.name)' (\(size) bytes)")
                    export = chosen
                case .request(let request, let payload):
                    guard let export else { continue }
                    inFlight += 1
                    group.addTask { await replies.send(await Self.perform(request, payload: payload, on: export, logger: logger)) }
                case .refuse(let request, let errno):
                    inFlight += 1
                    group.addTask { await replies.send(NBDSimpleReply.parts(error: errno, handle: request.handle)) }
                case .close(let error):
                    ending = error
                    break events
                }
            }
        }
        switch ending {
        case nil:
            logger.debug("nbd: \(connection.peer) disconnected")
        case let error as SocketError where error.kind == .endOfStream || error.kind == .closed:
            logger.debug("nbd: \(connection.peer) went away: \(error)")
        case let error?:
            logger.notice("nbd: closing the connection from \(connection.peer): \(error)")
        }
        connection.close()
    }

    /// The most one read of a connection takes beyond what the session asked for.
    static let readAhead = 64 << 10

    /// Runs one checked request against the export: the whole reply, as the
    /// parts `ReplyWriter` sends together.
    static func perform(_ request: NBDRequest, payload: [UInt8], on export: any NBDExport, logger: Logger) async -> [[UInt8]] {
        do {
            switch request.command {
            case .read:
                let data = try await export.read(offset: request.offset, length: Int(request.length))
                guard data.count == Int(request.length) else {
                    throw NBDError(.io, "export '\(export.name)' returned \(data.count) bytes for a read of \(request.length)")
                }
                return NBDSimpleReply.parts(error: .ok, handle: request.handle, data: data)
            case .write:
                try await export.write(offset: request.offset, data: payload)
            case .flush:
                try await export.flush()
            case .trim:
                try await export.trim(offset: request.offset, length: UInt64(request.length))
            case .writeZeroes:
                try await export.writeZeroes(offset: request.offset, length: UInt64(request.length))
            default:
                return NBDSimpleReply.parts(error: .invalid, handle: request.handle)
            }
            // FUA is accepted on every command; only those that write have anything to persist.
            if request.flags.contains(.fua), request.command == .write || request.command == .trim || request.command == .writeZeroes {
                try await export.flush()
            }
            return NBDSimpleReply.parts(error: .ok, handle: request.handle)
        } catch let error as NBDError {
            logger.notice("nbd: \(request.command.map { "\($0)" } ?? "command \(request.type)") at \(request.offset)+\(request.length) on '\(export.name)': \(error)")
            return NBDSimpleReply.parts(error: error.errno, handle: request.handle)
        } catch {
            logger.warning("nbd: \(request.command.map { "\($0)" } ?? "command \(request.type)") at \(request.offset)+\(request.length) on '\(export.name)': \(error)")
            return NBDSimpleReply.parts(error: .io, handle: request.handle)
        }
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
        await send([bytes])
    }

    /// One reply in parts (a header and a read's data), written as one.
    func send(_ parts: [[UInt8]]) async {
        guard !broken else { return }
        do {
            try await connection.writeAll(parts: parts)
        } catch {
            broken = true
            connection.close()
        }
    }
}
