import AtRestWire

/// One AtRest message split into its parts (docs/PROTOCOL.md "Frames"):
/// `[route…][empty]["ATR1"][command][frames…]`. The route is whatever a
/// ROUTER prepended (peer identities); DEALERs see no route.
struct Envelope {
    var route: [Frame]
    var command: Command
    /// The frames after the command: header, body, payload.
    var frames: [Frame]
    /// The size of the whole message, all frames.
    var totalBytes: Int = 0

    /// Why a message was rejected; `reply` says whether an error reply makes sense.
    struct Rejection: Error {
        var reason: String
        var status: StatusCode
    }

    /// Splits a received message. `routed`: it came through a ROUTER, so
    /// identity frames precede the delimiter.
    static func parse(_ received: [Frame], routed: Bool, limits: MessagingLimits) throws(Rejection) -> Envelope {
        var index = 0
        var route: [Frame] = []
        if routed {
            while index < received.count, !received[index].isEmpty {
                route.append(received[index])
                index += 1
                if route.count > 8 { throw Rejection(reason: "more than 8 routing frames", status: .invalidArgument) }
            }
            guard !route.isEmpty else { throw Rejection(reason: "no routing identity", status: .invalidArgument) }
        }
        guard index < received.count, received[index].isEmpty else {
            throw Rejection(reason: "missing empty delimiter frame", status: .invalidArgument)
        }
        index += 1
        guard index + 1 < received.count else {
            throw Rejection(reason: "message has no protocol tag and command", status: .invalidArgument)
        }
        guard received[index].equals(ProtocolTag.current) else {
            throw Rejection(reason: "unknown protocol tag (expected ATR1)", status: .invalidArgument)
        }
        let commandFrame = received[index + 1]
        guard commandFrame.count == 1, let byte = commandFrame.firstByte, let command = Command(rawValue: byte) else {
            throw Rejection(reason: "unknown command frame", status: .invalidArgument)
        }
        var total = 0
        for frame in received { total += frame.count }
        return Envelope(route: route, command: command, frames: Array(received[(index + 2)...]), totalBytes: total)
    }

    /// Builds `[route…][empty]["ATR1"][command][frames…]`.
    static func build(route: [Frame] = [], _ command: Command, _ frames: [Frame]) -> [Frame] {
        var out = route
        out.reserveCapacity(route.count + 3 + frames.count)
        out.append(Frame.empty())
        out.append(Frame(ProtocolTag.current))
        out.append(Frame(byte: command.rawValue))
        out.append(contentsOf: frames)
        return out
    }

    /// A reply message: `[route…][empty]["ATR1"][REPLY][ReplyHeader][body][payload…]`.
    static func reply(route: [Frame], header: ReplyHeader, body: [UInt8] = [], payload: [PayloadPart] = []) -> [Frame] {
        var frames = [Frame(header.serialized()), Frame(body)]
        for part in payload { frames.append(Frame(part)) }
        return build(route: route, .reply, frames)
    }

    /// Copies of route frames, to address the same peer again later.
    static func copyRoute(_ route: [Frame]) -> [Frame] { route.map { $0.copy() } }
}

/// A decoded request: header parsed, body and payload still as frames.
struct IncomingRequest {
    var route: [Frame]
    var header: RPCHeader
    var body: Frame
    var payload: [Frame]

    /// Reads `[RpcHeader][body][payload…]`; a header that does not decode or
    /// lacks a method or call id is rejected (the call id, when readable, is
    /// kept so the rejection can be answered).
    static func parse(_ envelope: Envelope, limits: MessagingLimits) throws(IncomingRequest.Rejection) -> IncomingRequest {
        guard let headerFrame = envelope.frames.first else {
            throw Rejection(callID: [], reason: "request has no header frame")
        }
        let header: RPCHeader
        do {
            header = try headerFrame.withUnsafeBytes { try RPCHeader(serialized: $0) }
        } catch {
            // Answer with the call id if the wire format still yields one.
            throw Rejection(
                callID: RequestRouting(headerFrame)?.callID ?? [],
                reason: "request header is not a valid atrest.v1.RpcHeader")
        }
        try validate(callID: header.callID, method: header.method, envelope, limits: limits)
        let body = envelope.frames.count > 1 ? envelope.frames[1] : Frame.empty()
        let payload = envelope.frames.count > 2 ? Array(envelope.frames[2...]) : []
        return IncomingRequest(route: envelope.route, header: header, body: body, payload: payload)
    }

    /// The checks every request passes before it is run or routed: a call
    /// id of 1-64 bytes, a method, and the frame-count and size limits.
    static func validate(
        callID: [UInt8], method: String, _ envelope: Envelope, limits: MessagingLimits
    ) throws(IncomingRequest.Rejection) {
        guard !callID.isEmpty, callID.count <= 64 else {
            throw Rejection(callID: [], reason: "request header needs a call_id of 1-64 bytes")
        }
        guard !method.isEmpty else {
            throw Rejection(callID: callID, reason: "request header has no method")
        }
        guard envelope.frames.count <= limits.maxFrames else {
            throw Rejection(
                callID: callID,
                reason: "message has \(envelope.frames.count) frames; the limit is \(limits.maxFrames)")
        }
        guard envelope.totalBytes <= limits.maxMessageBytes else {
            throw Rejection(
                callID: callID,
                reason: "message of \(envelope.totalBytes) bytes exceeds the limit of \(limits.maxMessageBytes) "
                    + "bytes; send larger data as staged blocks")
        }
    }

    struct Rejection: Error {
        var callID: [UInt8]
        var reason: String
    }

    /// The request as a service sees it: the (small) body copied, the
    /// payload frames lent as parts without copying.
    func rpcRequest(deadline: UInt64) -> RPCRequest {
        var request = RPCRequest(
            header: header, body: body.bytes, parts: payload.map(\.part),
            deadline: Deadline(nanoseconds: deadline))
        request.peer = route.first?.bytes ?? []
        return request
    }
}
