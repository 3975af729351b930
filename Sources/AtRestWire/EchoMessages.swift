/// `service Echo` (envelope.proto): the diagnostic echo of tests and benchmarks.
public enum EchoMethod {
    public static let service = "atrest.v1.Echo"
    /// Idempotent: a broker may re-queue it when a worker dies.
    public static let echo = RPCMethod<EchoRequest, EchoReply>(service, "Echo")
    /// Same behaviour, treated as non-idempotent by the broker.
    public static let echoOnce = RPCMethod<EchoRequest, EchoReply>(service, "EchoOnce")

    public static let all: [RPCMethodInfo] = [echo.info, echoOnce.info]
}

/// The diagnostic echo request (`atrest.v1.EchoRequest`).
public struct EchoRequest: Sendable, Equatable {
    public var text: String
    /// The handler waits this long before answering (slow calls in tests).
    public var delayMs: UInt32

    public init(text: String, delayMs: UInt32 = 0) {
        self.text = text
        self.delayMs = delayMs
    }
}

extension EchoRequest: WireMessage {
    public static let protoName = "atrest.v1.EchoRequest"
    public init(wire: WireFields) throws { self.init(text: wire.string(1), delayMs: wire.uint32(2)) }
    public var wire: WireFields { [1: .string(text), 2: .uint(delayMs)] }
}

/// The diagnostic echo reply (`atrest.v1.EchoReply`).
public struct EchoReply: Sendable, Equatable {
    public var text: String
    /// Who answered, so tests can see where a call ran.
    public var servedBy: String

    public init(text: String, servedBy: String) {
        self.text = text
        self.servedBy = servedBy
    }
}

extension EchoReply: WireMessage {
    public static let protoName = "atrest.v1.EchoReply"
    public init(wire: WireFields) throws { self.init(text: wire.string(1), servedBy: wire.string(2)) }
    public var wire: WireFields { [1: .string(text), 2: .string(servedBy)] }
}
