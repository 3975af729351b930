/// The header sent with every request (`atrest.v1.RpcHeader`).
public struct RPCHeader: Sendable, Equatable {
    /// Fully qualified method, e.g. "atrest.v1.Blob/Put".
    public var method: String
    /// 16 random bytes chosen by the caller, echoed in the reply.
    public var callID: [UInt8]
    /// Lets a non-idempotent call be retried safely; empty when unused.
    public var idempotencyKey: String
    /// 1 for the first attempt.
    public var attempt: UInt32
    /// Time left for the call in milliseconds (relative); 0: the receiver's default.
    public var timeoutMs: UInt32
    /// "authorization" (bearer token), "traceparent", ...
    public var metadata: [String: String]
    public var streamSeq: UInt64
    public var endOfStream: Bool
    public var credit: UInt32
    /// The account a data-plane call runs for: set only by the front door on
    /// what it forwards to workers; a client's value is dropped on arrival.
    public var accountContext: AccountContext?

    public init(
        method: String, callID: [UInt8] = [], idempotencyKey: String = "", attempt: UInt32 = 1,
        timeoutMs: UInt32 = 0, metadata: [String: String] = [:], streamSeq: UInt64 = 0,
        endOfStream: Bool = false, credit: UInt32 = 0, accountContext: AccountContext? = nil
    ) {
        self.method = method
        self.callID = callID
        self.idempotencyKey = idempotencyKey
        self.attempt = attempt
        self.timeoutMs = timeoutMs
        self.metadata = metadata
        self.streamSeq = streamSeq
        self.endOfStream = endOfStream
        self.credit = credit
        self.accountContext = accountContext
    }

    /// The bearer token in the "authorization" metadata, if any.
    public var bearerToken: String? {
        guard let value = metadata["authorization"] else { return nil }
        return value.hasPrefix("Bearer ") ? String(value.dropFirst(7)) : value
    }
}

extension RPCHeader: WireMessage {
    public static let protoName = "atrest.v1.RpcHeader"

    public init(wire: WireFields) throws {
        self.init(
            method: wire.string(1), callID: wire.bytes(2), idempotencyKey: wire.string(3),
            attempt: wire.uint32(4), timeoutMs: wire.uint32(5), metadata: wire.stringMap(6),
            streamSeq: wire.uint64(7), endOfStream: wire.bool(8), credit: wire.uint32(9),
            accountContext: try wire.message(10, as: AccountContext.self))
    }

    public var wire: WireFields {
        var fields: WireFields = [
            1: .string(method), 2: .bytes(callID), 3: .string(idempotencyKey), 4: .uint(attempt),
            5: .uint(timeoutMs), 7: .uint(streamSeq), 8: .bool(endOfStream), 9: .uint(credit),
        ]
        if !metadata.isEmpty { fields[6] = .map(metadata) }
        if let accountContext { fields[10] = WireValue(accountContext) }
        return fields
    }
}
