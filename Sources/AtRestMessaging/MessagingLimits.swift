import AtRestWire

/// The published size limits of an endpoint (docs/PROTOCOL.md "Limits").
///
/// `maxMessageBytes` is set as ZMQ_MAXMSGSIZE on every socket, so libzmq
/// drops a peer that sends a larger frame before it is buffered; the
/// envelope parser also checks the total of all frames. Payloads larger than
/// `maxPayloadBytes` are sent as staged blocks of at most `blockBytes`.
public struct MessagingLimits: Sendable, Equatable {
    /// The largest ZeroMQ message (all frames together) accepted.
    public var maxMessageBytes: Int
    /// The most frames one message may have.
    public var maxFrames: Int
    /// The largest payload one call may carry; room is left for headers.
    public var maxPayloadBytes: Int
    /// The block size large data is staged in.
    public var blockBytes: Int

    public init(maxMessageBytes: Int = 8 << 20, maxFrames: Int = 64, blockBytes: Int = 4 << 20) {
        self.maxMessageBytes = maxMessageBytes
        self.maxFrames = maxFrames
        self.maxPayloadBytes = maxMessageBytes - (64 << 10)
        self.blockBytes = min(blockBytes, maxMessageBytes - (64 << 10))
    }

    public static let `default` = MessagingLimits()

    /// The limits as published on the wire (`atrest.v1.Limits`).
    public var published: Limits {
        Limits(
            maxMessageBytes: UInt64(maxMessageBytes), maxPayloadBytes: UInt64(maxPayloadBytes),
            maxBlockBytes: UInt64(blockBytes))
    }
}
