/// One request as a service sees it, independent of the transport.
public struct RPCRequest: Sendable {
    public var header: RPCHeader
    /// The method's request message, protobuf-encoded.
    public var body: [UInt8]
    /// Bulk bytes, each in its own frame on the wire, not copied out of it.
    public var parts: [PayloadPart]
    /// When the caller stops waiting (derived from `header.timeoutMs` on arrival).
    public var deadline: Deadline?
    /// The connection the call came on (the ROUTER's routing id of the
    /// peer; empty in-process). Hosts use it to bound work per client.
    public var peer: [UInt8] = []

    public init(header: RPCHeader, body: [UInt8] = [], parts: [PayloadPart], deadline: Deadline? = nil) {
        self.header = header
        self.body = body
        self.parts = parts
        self.deadline = deadline
    }

    public init(header: RPCHeader, body: [UInt8] = [], payload: [[UInt8]] = [], deadline: Deadline? = nil) {
        self.init(header: header, body: body, parts: payload.map(PayloadPart.init), deadline: deadline)
    }

    /// The payload as arrays (copies what the transport received; use
    /// `parts` on hot paths).
    public var payload: [[UInt8]] {
        get { parts.map(\.bytes) }
        set { parts = newValue.map(PayloadPart.init) }
    }
}

/// A successful reply; failures are thrown as `RPCStatus`.
public struct RPCResponse: Sendable {
    public var body: [UInt8]
    /// Bulk bytes, sent without copying and received without copying.
    public var parts: [PayloadPart]
    /// Run once by the server right after the reply was handed to the socket,
    /// on the same thread: bookkeeping the caller need not wait for (the
    /// call's counts and metrics, `StatusService`). Also run when the reply is
    /// dropped because the call was already answered (it overran its deadline).
    public var afterReply: (@Sendable () -> Void)?

    public init(body: [UInt8] = [], parts: [PayloadPart]) {
        self.body = body
        self.parts = parts
    }

    public init(body: [UInt8] = [], payload: [[UInt8]] = []) {
        self.init(body: body, parts: payload.map(PayloadPart.init))
    }

    public init(_ message: some WireMessage, parts: [PayloadPart]) {
        self.init(body: message.serialized(), parts: parts)
    }

    public init(_ message: some WireMessage, payload: [[UInt8]] = []) {
        self.init(body: message.serialized(), payload: payload)
    }

    /// The payload as arrays (copies received bytes; use `parts` on hot paths).
    public var payload: [[UInt8]] {
        get { parts.map(\.bytes) }
        set { parts = newValue.map(PayloadPart.init) }
    }
}

/// Anything that answers requests: a service's method table, a broker, a test double.
///
/// `handle` throws `RPCStatus` for failures the caller should see; any other
/// error is reported to the caller as INTERNAL without its text (it may hold
/// details that are not the caller's business) and logged by the server.
public protocol RPCService: Sendable {
    func handle(_ request: RPCRequest) async throws -> RPCResponse
}

/// What a typed handler receives besides its decoded request message.
public struct RPCContext: Sendable {
    public var header: RPCHeader
    /// The request's bulk bytes, not copied out of their frames.
    public var parts: [PayloadPart]
    public var deadline: Deadline?

    public init(header: RPCHeader, parts: [PayloadPart], deadline: Deadline? = nil) {
        self.header = header
        self.parts = parts
        self.deadline = deadline
    }

    public init(header: RPCHeader, payload: [[UInt8]] = [], deadline: Deadline? = nil) {
        self.init(header: header, parts: payload.map(PayloadPart.init), deadline: deadline)
    }

    /// The payload as arrays (copies; use `parts` on hot paths).
    public var payload: [[UInt8]] { parts.map(\.bytes) }
}

/// A method table: decodes the request body, calls the typed handler, encodes
/// the reply. Unknown methods get UNIMPLEMENTED, undecodable bodies
/// INVALID_ARGUMENT.
public struct RPCRouter: RPCService {
    public typealias RawHandler = @Sendable (RPCRequest) async throws -> RPCResponse
    private var handlers: [String: RawHandler] = [:]

    public init() {}

    public var methods: [String] { handlers.keys.sorted() }

    /// Registers a handler that sees the raw request (for payload-heavy methods).
    public mutating func register(_ method: String, raw handler: @escaping RawHandler) {
        precondition(handlers[method] == nil, "method \(method) registered twice")
        handlers[method] = handler
    }

    /// Registers a typed handler whose reply carries payload parts (not
    /// copied on the way out: echoing `context.parts` sends the received
    /// frames' memory).
    public mutating func register<Request: WireMessage, Reply: WireMessage>(
        _ method: String, _ requestType: Request.Type = Request.self,
        parts handler: @escaping @Sendable (Request, RPCContext) async throws -> (Reply, [PayloadPart])
    ) {
        register(method, raw: { request in
            let decoded: Request
            do {
                decoded = try Request(serialized: request.body)
            } catch {
                throw RPCStatus(.invalidArgument, "request body is not a valid \(Request.protoName): \(error)")
            }
            let context = RPCContext(header: request.header, parts: request.parts, deadline: request.deadline)
            let (reply, parts) = try await handler(decoded, context)
            return RPCResponse(reply, parts: parts)
        })
    }

    /// Registers a typed handler whose reply carries payload arrays.
    public mutating func register<Request: WireMessage, Reply: WireMessage>(
        _ method: String, _ requestType: Request.Type = Request.self,
        handler: @escaping @Sendable (Request, RPCContext) async throws -> (Reply, [[UInt8]])
    ) {
        register(method, requestType, parts: { (request: Request, context: RPCContext) async throws -> (Reply, [PayloadPart]) in
            let (reply, payload) = try await handler(request, context)
            return (reply, payload.map(PayloadPart.init))
        })
    }

    /// Registers a typed handler without reply payload.
    public mutating func register<Request: WireMessage, Reply: WireMessage>(
        _ method: String, _ requestType: Request.Type = Request.self,
        handler: @escaping @Sendable (Request, RPCContext) async throws -> Reply
    ) {
        register(method, requestType, handler: { (request: Request, context: RPCContext) async throws -> (Reply, [[UInt8]]) in
            (try await handler(request, context), [])
        })
    }

    public func handle(_ request: RPCRequest) async throws -> RPCResponse {
        guard let handler = handlers[request.header.method] else {
            throw RPCStatus(.unimplemented, "unknown method '\(request.header.method)'")
        }
        return try await handler(request)
    }
}
