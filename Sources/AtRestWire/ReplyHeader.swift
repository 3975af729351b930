/// The header sent with every reply (`atrest.v1.ReplyHeader`).
public struct ReplyHeader: Sendable, Equatable {
    public var callID: [UInt8]
    public var status: RPCStatus
    public var streamSeq: UInt64
    public var endOfStream: Bool
    public var credit: UInt32

    public init(
        callID: [UInt8], status: RPCStatus = .ok, streamSeq: UInt64 = 0, endOfStream: Bool = false,
        credit: UInt32 = 0
    ) {
        self.callID = callID
        self.status = status
        self.streamSeq = streamSeq
        self.endOfStream = endOfStream
        self.credit = credit
    }
}

extension ReplyHeader: WireMessage {
    public static let protoName = "atrest.v1.ReplyHeader"

    public init(wire: WireFields) throws {
        self.init(
            callID: wire.bytes(1), status: try wire.message(2, as: RPCStatus.self) ?? .ok,
            streamSeq: wire.uint64(3), endOfStream: wire.bool(4), credit: wire.uint32(5))
    }

    public var wire: WireFields {
        [1: .bytes(callID), 2: WireValue(status), 3: .uint(streamSeq), 4: .bool(endOfStream), 5: .uint(credit)]
    }
}
