import Logging
import Synchronization

/// The ZAP handler of one context (RFC 27), bound at inproc://zeromq.zap.01.
///
/// libzmq asks it about every CURVE handshake; it admits a client only if
/// its public key is on the allow-list of the server socket's ZAP domain.
/// Anything else (unknown domain, other mechanism, malformed request) is
/// refused: it fails closed. Without a handler a CURVE server on libzmq
/// 4.3.4 admits any key, which is why every CURVE server socket also sets
/// ZMQ_ZAP_ENFORCE_DOMAIN.
final class ZAPAuthenticator: Sendable {
    private let loop: PollLoop
    private let allowLists = Mutex<[String: Set<String>]>([:])
    private let logger = Logger(label: "atrest.zap")

    init(context: ZMQContext) throws {
        let socket = try ZMQSocket(.rep, context: context)
        try socket.bind("inproc://zeromq.zap.01")
        loop = try PollLoop(name: "zap")
        loop.sockets = [socket]
        let box = UncheckedBox(self)
        loop.onReadable = { _ in box.value.serve(socket) }
        loop.onStop = { socket.close() }
        loop.start()
    }

    func allow(_ keys: Set<String>, domain: String) {
        allowLists.withLock { $0[domain] = keys }
    }

    func stop() { loop.stop() }

    private func serve(_ socket: ZMQSocket) {
        while let request = try? socket.receive() {
            let reply = answer(request)
            try? socket.send(reply)
        }
    }

    /// Request: version, request id, domain, address, identity, mechanism,
    /// credentials…; reply: version, request id, status code, text, user id,
    /// metadata.
    private func answer(_ request: [Frame]) -> [Frame] {
        let requestID = request.count > 1 ? request[1].bytes : []
        func reply(_ code: String, _ text: String, user: String = "") -> [Frame] {
            [Frame("1.0"), Frame(requestID), Frame(code), Frame(text), Frame(user), Frame([])]
        }
        guard request.count >= 7, request[0].equals(Array("1.0".utf8)) else {
            return reply("400", "malformed ZAP request")
        }
        let domain = String(decoding: request[2].bytes, as: UTF8.self)
        let mechanism = String(decoding: request[5].bytes, as: UTF8.self)
        guard mechanism == "CURVE", let key = request[6].withUnsafeBytes({ Curve.encode($0) }) else {
            return reply("400", "only CURVE is accepted")
        }
        let allowed = allowLists.withLock { $0[domain]?.contains(key) ?? false }
        guard allowed else {
            logger.notice("refused CURVE client", metadata: ["domain": "\(domain)", "client_key": "\(key)"])
            return reply("400", "client key not allowed")
        }
        return reply("200", "OK", user: key)
    }
}
