internal import CZeroMQ

/// libzmq's own relay loop (`zmq_proxy_steerable`) between two sockets.
///
/// AtRest's broker does more than relay (credit, heartbeats, re-queueing),
/// but the bare proxy is the floor any brokered path stands on: two
/// loopback hops each way with no per-message work above libzmq. The
/// messaging bench measures it in the same run as the broker, so the
/// broker's own cost can be told apart from the cost of the extra hop.
public enum ZMQProxy {
    /// Relays between `frontend` and `backend` on the calling thread until
    /// `TERMINATE` arrives on `control` (or the context ends). Blocks: run it
    /// on a thread of its own, never on the cooperative pool.
    public static func run(frontend: ZMQSocket, backend: ZMQSocket, control: ZMQSocket) throws {
        let rc = zmq_proxy_steerable(frontend.raw, backend.raw, nil, control.raw)
        if rc < 0, zmq_errno() != ETERM {
            throw MessagingError(errno: zmq_errno(), operation: "zmq_proxy_steerable")
        }
    }
}
