/// The command byte of an AtRest message (frame 3 after the delimiter and
/// the "ATR1" tag). All commands live here; docs/PROTOCOL.md lists them.
public enum Command: UInt8, Sendable, CaseIterable {
    /// Client → server/broker, broker → worker: `[RpcHeader][body][payload…]`.
    case request = 0x01
    /// Server/worker → caller: `[ReplyHeader][body][payload…]`.
    case reply = 0x02
    /// Worker → broker: `[WorkerReady]` (announces itself and its credit).
    case ready = 0x03
    /// Both ways between broker and worker: `[Heartbeat]` (carries credit).
    case heartbeat = 0x04
    /// Worker → broker (leaving) or broker → worker (unknown to me: re-register).
    case disconnect = 0x05
}

/// The protocol tag, frame 2 of every message: versions the framing itself.
public enum ProtocolTag {
    public static let current: [UInt8] = Array("ATR1".utf8)
}
