internal import CZeroMQ
import AtRestWire
import Synchronization

/// Watches one socket's ZMTP handshakes through libzmq's socket monitor
/// (`zmq_socket_monitor` to an inproc PAIR).
///
/// Why: a CURVE server that refuses a client (unknown key, ZAP status 400)
/// or a peer speaking another security mechanism ends the connection during
/// the handshake, and libzmq 4.3 does not reconnect after such a protocol
/// error; without the monitor the client's calls would only end at their
/// deadline. With it the client fails them at once with a status that says
/// what happened.
final class HandshakeMonitor {
    let socket: ZMQSocket
    private static let counter = Atomic<Int>(0)

    /// What a handshake event means for calls on the monitored socket.
    enum Outcome {
        case succeeded
        case refused(RPCStatus)
    }

    init(watching target: ZMQSocket, context: ZMQContext) throws {
        let endpoint = "inproc://atrest-handshake-monitor-\(HandshakeMonitor.counter.add(1, ordering: .relaxed).newValue)"
        let events = ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
            | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL
        try zmqCall("zmq_socket_monitor") { zmq_socket_monitor(target.raw, endpoint, events) }
        socket = try ZMQSocket(.pair, context: context)
        try socket.connect(endpoint)
    }

    /// Reads every waiting event (loop thread only).
    func drain() -> [Outcome] {
        var outcomes: [Outcome] = []
        while let message = try? socket.receive() {
            guard let first = message.first, first.count >= 6 else { continue }
            let (event, value) = first.withUnsafeBytes {
                (Int32($0.loadUnaligned(as: UInt16.self)), $0.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
            }
            let peer = message.count > 1 ? String(decoding: message[1].bytes, as: UTF8.self) : "the server"
            switch event {
            case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
                outcomes.append(.succeeded)
            case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
                outcomes.append(.refused(RPCStatus(
                    .unauthenticated,
                    "\(peer) refused this client's CURVE key (ZAP status \(value)); ask for the key to be allowed",
                    details: ["reason": "curveKeyRefused"])))
            case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
                outcomes.append(.refused(RPCStatus(
                    .unavailable,
                    "the security handshake with \(peer) failed (libzmq code \(value)); "
                        + "check that both ends use CURVE with the right server key", details: ["reason": "handshakeFailed"])))
            default:
                continue
            }
        }
        return outcomes
    }

    func close() { socket.close() }
}
