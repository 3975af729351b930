import AtRestNBD

/// TEST-ONLY: an export `NBDSession` asks only for its name, flags and
/// size (the session never calls its data methods; `NBDServer` does, and
/// is tested with `FileExport` and real clients).
struct SizedExport: NBDExport {
    let name: String
    let bytes: UInt64
    var minimumBlockSize: UInt32 = 512
    var isReadOnly = false
    /// The size cannot be read (a store that is down).
    var unavailable = false

    var size: UInt64 {
        get async throws {
            if unavailable { throw NBDError(.io, "export '\(name)' is unavailable") }
            return bytes
        }
    }

    func read(offset: UInt64, length: Int) async throws -> [UInt8] { throw NBDError(.io, "not in session tests") }
    func write(offset: UInt64, data: [UInt8]) async throws { throw NBDError(.io, "not in session tests") }
    func flush() async throws { throw NBDError(.io, "not in session tests") }
    func trim(offset: UInt64, length: UInt64) async throws { throw NBDError(.io, "not in session tests") }
    func writeZeroes(offset: UInt64, length: UInt64) async throws { throw NBDError(.io, "not in session tests") }
}

/// What a session did, comparable.
enum SessionStep: Equatable, CustomStringConvertible {
    case send([UInt8])
    case size(String)
    case transmit(String, UInt64)
    case request(NBDRequest, payload: Int)
    case refuse(handle: UInt64, NBDErrno)
    case close(NBDProtocolError?)

    var description: String {
        switch self {
        case .send(let bytes): "send(\(bytes.count) bytes)"
        case .size(let name): "size(\(name))"
        case .transmit(let name, let size): "transmit(\(name), \(size))"
        case .request(let request, let payload): "request(\(request), payload: \(payload))"
        case .refuse(let handle, let errno): "refuse(\(handle), \(errno))"
        case .close(let error): "close(\(error.map { "\($0)" } ?? "nil"))"
        }
    }

    /// The option replies in a `.send` (type and data each), for handshake bytes only.
    var optionReplies: [(option: UInt32, type: UInt32, data: [UInt8])] {
        guard case .send(let bytes) = self else { return [] }
        var replies: [(UInt32, UInt32, [UInt8])] = []
        var index = 0
        while index + 20 <= bytes.count {
            let length = Int(RawNBDClient.uint32(bytes, index + 16))
            replies.append((RawNBDClient.uint32(bytes, index + 8), RawNBDClient.uint32(bytes, index + 12), Array(bytes[(index + 20)...].prefix(length))))
            index += 20 + length
        }
        return replies
    }
}

/// Runs a client's byte stream through a fresh `NBDSession`: sizes are
/// read from the exports, requests are not run. `piece` bytes are fed at
/// a time (nil: what the session wants, as `NBDServer` reads).
func runSession(_ stream: [UInt8], exports: [any NBDExport], configuration: NBDServerConfiguration = .init(),
                piece: Int? = nil) async -> [SessionStep] {
    var session = NBDSession(exports: exports, configuration: configuration)
    var steps: [SessionStep] = []
    var offset = 0
    while true {
        guard let event = session.next() else {
            guard offset < stream.count, session.wanted > 0 else { return steps }
            let count = min(piece ?? session.wanted, stream.count - offset)
            session.receive(Array(stream[offset ..< offset + count]))
            offset += count
            continue
        }
        switch event {
        case .send(let bytes): steps.append(.send(bytes))
        case .size(let export):
            steps.append(.size(export.name))
            session.sized(try? await export.size)
        case .transmit(let export, let size): steps.append(.transmit(export.name, size))
        case .request(let request, let payload): steps.append(.request(request, payload: payload.count))
        case .refuse(let request, let errno): steps.append(.refuse(handle: request.handle, errno))
        case .close(let error):
            steps.append(.close(error))
            return steps
        }
    }
}

/// A client's bytes, built with the protocol's encoders.
struct ClientStream {
    var bytes: [UInt8] = []

    init(flags: UInt32 = NBDWire.clientFlagFixedNewstyle | NBDWire.clientFlagNoZeroes) {
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: flags >> UInt32(shift))) }
    }

    mutating func option(_ option: NBDOption, _ data: [UInt8] = []) { self.option(option.rawValue, data) }

    mutating func option(_ option: UInt32, _ data: [UInt8]) {
        bytes += NBDOptionHeader(option: option, length: UInt32(data.count)).encoded() + data
    }

    mutating func go(_ name: String, _ option: NBDOption = .go, requests: [NBDInfoType] = [.blockSize]) {
        self.option(option, NBDExportRequest(name: name, requests: requests.map(\.rawValue)).encoded())
    }

    mutating func request(_ command: NBDCommand, handle: UInt64, offset: UInt64 = 0, length: UInt32 = 0, flags: NBDCommandFlags = [],
                          payload: [UInt8]? = nil) {
        bytes += NBDRequest(flags: flags, type: command.rawValue, handle: handle, offset: offset, length: length).encoded()
        if command == .write { bytes += payload ?? [UInt8](repeating: UInt8(truncatingIfNeeded: handle), count: Int(length)) }
    }
}
