/// One client connection's NBD protocol, server side, as a state machine
/// over the client's bytes: no I/O, no waiting, no clock. `NBDServer`
/// feeds it what its socket reads and does what it answers; the fuzz target
/// `fuzz-nbd` (docs/FUZZING.md) feeds it arbitrary bytes. It holds the option
/// haggling (client flags, NBD_OPT_* and their data, the replies) and the
/// transmission phase's framing and checks (request headers, WRITE data,
/// the refusals of `RequestCheck`); running a request on the export is the
/// caller's (`NBDServer.perform`).
///
/// Use: send `greeting`, then take events with `next()` until `.close`;
/// when `next()` returns nil, read up to `wanted` bytes and `receive` them
/// (any split of the stream gives the same events; reading exactly `wanted`
/// never reads past the message at hand). A `.size` event must be answered
/// with `sized(_:)` before `next()` goes on.
public struct NBDSession {
    public enum Event {
        /// Handshake bytes for the client, in order, before anything later.
        case send([UInt8])
        /// The handshake needs this export's size (NBD_OPT_INFO, NBD_OPT_GO,
        /// NBD_OPT_EXPORT_NAME): read it and call `sized(_:)`.
        case size(any NBDExport)
        /// The handshake is over: requests for this export, of this size, follow.
        case transmit(any NBDExport, size: UInt64)
        /// A request that passed every check, with a WRITE's data: run it on
        /// the export and send its reply (`NBDServer.perform`).
        case request(NBDRequest, payload: [UInt8])
        /// A request refused before it reaches the export (a WRITE's data
        /// has been read and dropped): send this errno in its reply.
        case refuse(NBDRequest, NBDErrno)
        /// The end: nil when the client ended the connection (NBD_OPT_ABORT,
        /// NBD_CMD_DISC), else the rule it broke. Requests handed out before
        /// are still to be answered.
        case close(NBDProtocolError?)
    }

    private enum Phase {
        case clientFlags
        case optionHeader
        case optionData(NBDOptionHeader)
        /// Option data over `maxOptionLength`: dropped as it comes, then refused.
        case optionSkip(NBDOptionHeader, remaining: UInt64)
        /// Waiting for `sized(_:)`.
        case sizing(Sizing)
        case requestHeader
        case writeData(NBDRequest)
        /// A refused WRITE's data: dropped as it comes, then refused.
        case writeSkip(NBDRequest, NBDErrno, remaining: Int)
        case closed
    }

    /// An NBD_OPT_INFO / NBD_OPT_GO (with its request) or NBD_OPT_EXPORT_NAME (nil) waiting for a size.
    private struct Sizing {
        var option: UInt32
        var export: any NBDExport
        var request: NBDExportRequest?
    }

    /// Largest WRITE whose data is read and dropped when the WRITE is
    /// refused (the NBD spec: a length under 2^25 is no denial of service);
    /// a longer one closes the connection.
    static let maxDroppedWrite = 1 << 25
    /// How much dropped data one `wanted` asks for.
    static let dropChunk = 1 << 16

    private let exports: [String: any NBDExport]
    private let exportNames: [String]
    private let configuration: NBDServerConfiguration
    private var phase = Phase.clientFlags
    private var noZeroes = false
    private var check: RequestCheck?
    /// Received and not yet consumed: `buffer[start...]`.
    private var buffer: [UInt8] = []
    private var start = 0
    private var events: [Event] = []

    public init(exports: [any NBDExport], configuration: NBDServerConfiguration = .init()) {
        var byName: [String: any NBDExport] = [:]
        var names: [String] = []
        for export in exports where byName[export.name] == nil {
            byName[export.name] = export
            names.append(export.name)
        }
        self.exports = byName
        exportNames = names
        self.configuration = configuration
    }

    /// The server's first bytes (NBDMAGIC, IHAVEOPT, handshake flags).
    public var greeting: [UInt8] { NBDWire.greeting() }

    /// True once the session has ended (`.close` was given out or is queued).
    public var isClosed: Bool {
        if case .closed = phase { return true }
        return false
    }

    /// How many bytes the session can use now without reading past the
    /// message at hand; 0 while it waits for `sized(_:)` or once closed.
    public var wanted: Int {
        switch phase {
        case .clientFlags: max(0, 4 - buffered)
        case .optionHeader: max(0, NBDWire.optionHeaderSize - buffered)
        case .optionData(let header): max(0, Int(header.length) - buffered)
        case .optionSkip(_, let remaining): Int(min(remaining, UInt64(Self.dropChunk)))
        case .sizing, .closed: 0
        case .requestHeader: max(0, NBDWire.requestHeaderSize - buffered)
        case .writeData(let request): max(0, Int(request.length) - buffered)
        case .writeSkip(_, _, let remaining): min(remaining, Self.dropChunk)
        }
    }

    /// Bytes from the client, in order (any amount).
    public mutating func receive(_ bytes: [UInt8]) {
        if isClosed || bytes.isEmpty { return }
        if buffered == 0 {
            buffer = bytes
            start = 0
        } else {
            buffer.append(contentsOf: bytes)
        }
    }

    /// The next thing to do, or nil when the session needs more bytes (or
    /// the answer to a `.size`, or has closed).
    public mutating func next() -> Event? {
        while events.isEmpty {
            guard step() else { return nil }
        }
        return events.removeFirst()
    }

    /// The answer to `.size`: the export's size, or nil when it could not
    /// be read (the export is unavailable: NBD_REP_ERR_UNKNOWN, or for
    /// NBD_OPT_EXPORT_NAME, which cannot be refused, the end of the connection).
    public mutating func sized(_ size: UInt64?) {
        guard case .sizing(let sizing) = phase else { return }
        phase = .optionHeader
        let export = sizing.export
        guard let request = sizing.request else {
            guard let size else { return close(.invalid("NBD_OPT_EXPORT_NAME for export '\(Self.shown(export.name))', which is unavailable")) }
            emit(.send(NBDOptionReply.exportNameReply(size: size, flags: flags(of: export).rawValue, noZeroes: noZeroes)))
            return transmit(export, size: size)
        }
        let option = sizing.option
        guard let size else {
            return emit(.send(NBDOptionReply.error(option: option, .errUnknown, "export '\(Self.shown(export.name))' is unavailable")))
        }
        var reply = NBDOptionReply.exportInfo(option: option, size: size, flags: flags(of: export).rawValue)
        if request.requests.contains(NBDInfoType.name.rawValue) {
            reply += NBDOptionReply.nameInfo(option: option, name: export.name)
        }
        if request.requests.contains(NBDInfoType.blockSize.rawValue) || export.minimumBlockSize > 1 {
            reply += blockSizeInfo(option: option, export)
        }
        reply += NBDOptionReply.encode(option: option, type: .ack)
        emit(.send(reply))
        if option == NBDOption.go.rawValue { transmit(export, size: size) }
    }

    // MARK: Steps

    /// Consumes what it can of the buffer; false when nothing can move.
    private mutating func step() -> Bool {
        switch phase {
        case .clientFlags:
            guard let bytes = take(4) else { return false }
            do {
                noZeroes = try NBDWire.parseClientFlags(bytes).noZeroes
                phase = .optionHeader
            } catch {
                close(error)
            }
        case .optionHeader:
            guard let bytes = take(NBDWire.optionHeaderSize) else { return false }
            do {
                let header = try NBDOptionHeader.parse(bytes)
                if header.length <= configuration.maxOptionLength {
                    phase = .optionData(header)
                } else if header.option == NBDOption.exportName.rawValue {
                    // NBD_OPT_EXPORT_NAME has no error reply: names are at most 4 KiB.
                    close(NBDProtocolError(.tooLarge, "NBD_OPT_EXPORT_NAME with \(header.length) bytes of data"))
                } else {
                    phase = .optionSkip(header, remaining: UInt64(header.length))
                }
            } catch {
                close(error)
            }
        case .optionData(let header):
            guard let data = take(Int(header.length)) else { return false }
            phase = .optionHeader
            option(header.option, data: data)
        case .optionSkip(let header, let remaining):
            if remaining > 0 {
                let dropped = drop(Int(min(remaining, UInt64(Int.max))))
                guard dropped > 0 else { return false }
                phase = .optionSkip(header, remaining: remaining - UInt64(dropped))
                return true
            }
            phase = .optionHeader
            refuseLong(header)
        case .sizing, .closed:
            return false
        case .requestHeader:
            guard let bytes = take(NBDWire.requestHeaderSize) else { return false }
            do {
                request(try NBDRequest.parse(bytes))
            } catch {
                close(error)
            }
        case .writeData(let request):
            guard let data = take(Int(request.length)) else { return false }
            phase = .requestHeader
            emit(.request(request, payload: data))
        case .writeSkip(let request, let errno, let remaining):
            if remaining > 0 {
                let dropped = drop(remaining)
                guard dropped > 0 else { return false }
                phase = .writeSkip(request, errno, remaining: remaining - dropped)
                return true
            }
            phase = .requestHeader
            emit(.refuse(request, errno))
        }
        return true
    }

    /// One option with its data (at most `maxOptionLength` bytes).
    private mutating func option(_ option: UInt32, data: [UInt8]) {
        switch NBDOption(rawValue: option) {
        case .abort:
            // The spec: data sent with NBD_OPT_ABORT is ignored.
            emit(.send(NBDOptionReply.encode(option: option, type: .ack)))
            close(nil)
        case .list:
            guard data.isEmpty else {
                return emit(.send(NBDOptionReply.error(option: option, .errInvalid, "NBD_OPT_LIST takes no data")))
            }
            var reply: [UInt8] = []
            for name in exportNames { reply += NBDOptionReply.server(name: name) }
            reply += NBDOptionReply.encode(option: option, type: .ack)
            emit(.send(reply))
        case .exportName:
            // No error reply is possible here: an unknown export closes the connection.
            guard let name = String(validating: data, as: UTF8.self), let export = export(named: name) else {
                return close(.invalid("NBD_OPT_EXPORT_NAME for an unknown export"))
            }
            phase = .sizing(Sizing(option: option, export: export, request: nil))
            emit(.size(export))
        case .info, .go:
            let request: NBDExportRequest
            do {
                request = try NBDExportRequest.parse(data)
            } catch {
                return emit(.send(NBDOptionReply.error(option: option, .errInvalid, error.message)))
            }
            guard let export = export(named: request.name) else {
                return emit(.send(NBDOptionReply.error(option: option, .errUnknown, "no export named '\(Self.shown(request.name))'")))
            }
            // Only GO enters transmission: INFO is answered with the block sizes, asked or not (the spec allows unasked items).
            let needsBlockSize = export.minimumBlockSize > 1 && !request.requests.contains(NBDInfoType.blockSize.rawValue)
            guard !needsBlockSize || option != NBDOption.go.rawValue else {
                // The spec: the block sizes go first, to spare the client a round trip.
                return emit(.send(blockSizeInfo(option: option, export) + NBDOptionReply.error(
                    option: option, .errBlockSizeRequired,
                    "export '\(Self.shown(export.name))' needs \(export.minimumBlockSize)-byte aligned requests: ask for NBD_INFO_BLOCK_SIZE")))
            }
            phase = .sizing(Sizing(option: option, export: export, request: request))
            emit(.size(export))
        default:
            emit(.send(NBDOptionReply.error(option: option, .errUnsupported, "option \(option) is not supported")))
        }
    }

    /// An option whose data was over the limit (and has been dropped).
    private mutating func refuseLong(_ header: NBDOptionHeader) {
        switch NBDOption(rawValue: header.option) {
        case .abort:
            option(header.option, data: [])
        case nil:
            emit(.send(NBDOptionReply.error(option: header.option, .errUnsupported, "option \(header.option) is not supported")))
        default:
            emit(.send(NBDOptionReply.error(
                option: header.option, .errTooBig,
                "option \(header.option) with \(header.length) bytes of data (at most \(configuration.maxOptionLength))")))
        }
    }

    /// One request header (transmission phase).
    private mutating func request(_ request: NBDRequest) {
        guard let check else { return close(.invalid("a request before the handshake ended")) }
        if request.command == .disconnect { return close(nil) }
        let refusal = check.refusal(of: request)
        guard request.command == .write else {
            return emit(refusal.map { .refuse(request, $0) } ?? .request(request, payload: []))
        }
        let length = Int(request.length)
        guard let refusal else {
            phase = .writeData(request)
            return
        }
        // The data must be read past to find the next request.
        guard length <= max(Self.maxDroppedWrite, configuration.maxPayload) else {
            return close(NBDProtocolError(.tooLarge, "write of \(length) bytes (at most \(configuration.maxPayload))"))
        }
        phase = .writeSkip(request, refusal, remaining: length)
    }

    private mutating func transmit(_ export: any NBDExport, size: UInt64) {
        check = RequestCheck(size: size, alignment: UInt64(max(export.minimumBlockSize, 1)),
                             maxPayload: configuration.maxPayload, readOnly: export.isReadOnly)
        phase = .requestHeader
        emit(.transmit(export, size: size))
    }

    private mutating func close(_ error: NBDProtocolError?) {
        phase = .closed
        buffer = []
        start = 0
        emit(.close(error))
    }

    private mutating func emit(_ event: Event) { events.append(event) }

    // MARK: Exports

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

    private func blockSizeInfo(option: UInt32, _ export: any NBDExport) -> [UInt8] {
        NBDOptionReply.blockSizeInfo(option: option, minimum: export.minimumBlockSize,
                                     preferred: max(export.preferredBlockSize, export.minimumBlockSize),
                                     maximum: UInt32(clamping: configuration.maxPayload))
    }

    /// A name as shown in an error message (at most 256 characters).
    private static func shown(_ name: String) -> Substring { name.prefix(256) }

    // MARK: Buffer

    private var buffered: Int { buffer.count - start }

    /// The next `count` bytes, or nil until that many are here.
    private mutating func take(_ count: Int) -> [UInt8]? {
        guard buffered >= count else { return nil }
        if start == 0, count == buffer.count {
            let all = buffer
            buffer = []
            return all
        }
        let bytes = Array(buffer[start ..< start + count])
        consumed(count)
        return bytes
    }

    /// Drops up to `count` bytes; how many it dropped.
    private mutating func drop(_ count: Int) -> Int {
        let dropped = min(count, buffered)
        consumed(dropped)
        return dropped
    }

    private mutating func consumed(_ count: Int) {
        start += count
        if start == buffer.count {
            buffer = []
            start = 0
        } else if start >= Self.dropChunk {
            buffer.removeFirst(start)
            start = 0
        }
    }
}

/// The checks every request passes before it reaches the export, with the
/// NBD spec's error values: EINVAL for unknown commands and flags, empty,
/// misaligned or oversized requests, and reads or trims past the end;
/// ENOSPC for writes and write-zeroes past the end; EPERM for anything that
/// writes to a read-only export.
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
        // FUA is valid on every command once NBD_FLAG_SEND_FUA is advertised (the spec).
        case .read, .write, .trim, .flush: allowed = [.fua]
        // NO_HOLE only; FAST_ZERO is not advertised (NBD_FLAG_SEND_FAST_ZERO), so it is EINVAL.
        case .writeZeroes: allowed = [.fua, .noHole]
        default: return .invalid  // CACHE, BLOCK_STATUS, RESIZE: not advertised
        }
        guard request.flags.subtracting(allowed).isEmpty else { return .invalid }
        if command == .flush { return nil }
        if readOnly, command != .read { return .permission }
        let length = UInt64(request.length)
        guard length > 0 else { return .invalid }
        if command == .read || command == .write, length > UInt64(maxPayload) { return .invalid }
        let (end, overflow) = request.offset.addingReportingOverflow(length)
        guard !overflow, end <= size else { return command == .write || command == .writeZeroes ? .noSpace : .invalid }
        guard request.offset % alignment == 0, length % alignment == 0 else { return .invalid }
        return nil
    }
}
