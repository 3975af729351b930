internal import CZeroMQ
import AtRestCrypto
import Synchronization

/// A CURVE key pair: the public key as Z85 text (40 characters, safe to
/// print and configure), the secret key only in `SecretBytes`.
public struct CurveKeyPair: Sendable, CustomStringConvertible {
    public let publicKey: String
    /// The 32 raw secret-key bytes; never logged or printed.
    let secretKey: SecretBytes

    /// A fresh key pair from libzmq (`zmq_curve_keypair`).
    public static func generate() throws -> CurveKeyPair {
        var publicText = [CChar](repeating: 0, count: 41)
        var secretText = [CChar](repeating: 0, count: 41)
        defer { for i in secretText.indices { secretText[i] = 0 } }
        try zmqCall("zmq_curve_keypair") { zmq_curve_keypair(&publicText, &secretText) }
        return try CurveKeyPair(publicKey: Curve.text(publicText), secretKeyZ85: secretText)
    }

    /// A key pair from its Z85 texts (for example read from a key file).
    public init(publicKey: String, secretKey: String) throws {
        try self.init(publicKey: publicKey, secretKeyZ85: Array(secretKey.utf8CString))
    }

    private init(publicKey: String, secretKeyZ85: [CChar]) throws {
        guard Curve.decode(publicKey) != nil else {
            throw MessagingError(.invalidConfiguration, "CURVE public key is not 40 characters of Z85")
        }
        var raw = [UInt8](repeating: 0, count: 32)
        defer { for i in raw.indices { raw[i] = 0 } }
        guard secretKeyZ85.count == 41, zmq_z85_decode(&raw, secretKeyZ85) != nil else {
            throw MessagingError(.invalidConfiguration, "CURVE secret key is not 40 characters of Z85")
        }
        self.publicKey = publicKey
        secretKey = SecretBytes(raw)
    }

    /// The Z85 text of the secret key, for writing a key file.
    public func exportSecretKey() -> String {
        secretKey.withUnsafeBytes { raw in
            var text = [CChar](repeating: 0, count: 41)
            _ = zmq_z85_encode(&text, raw.baseAddress!.assumingMemoryBound(to: UInt8.self), 32)
            return Curve.text(text)
        }
    }

    public var description: String { "CurveKeyPair(public: \(publicKey), secret: redacted)" }
}

/// Z85 helpers.
enum Curve {
    /// The text of a NUL-terminated C buffer.
    static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func decode(_ text: String) -> [UInt8]? {
        guard text.utf8.count == 40 else { return nil }
        var raw = [UInt8](repeating: 0, count: 32)
        guard zmq_z85_decode(&raw, text) != nil else { return nil }
        return raw
    }

    static func encode(_ raw: UnsafeRawBufferPointer) -> String? {
        guard raw.count == 32 else { return nil }
        var text = [CChar](repeating: 0, count: 41)
        guard zmq_z85_encode(&text, raw.baseAddress!.assumingMemoryBound(to: UInt8.self), 32) != nil else { return nil }
        return Curve.text(text)
    }

    /// A distinct ZAP domain per server socket, so each has its own allow-list.
    static let domainCounter = Atomic<Int>(0)
}

/// Makes a socket a CURVE server that admits only the listed client keys.
public struct CurveServerConfiguration: Sendable {
    public var keyPair: CurveKeyPair
    /// Z85 public keys of the clients allowed in; everyone else is refused.
    public var allowedClientKeys: Set<String>

    public init(keyPair: CurveKeyPair, allowedClientKeys: Set<String>) {
        self.keyPair = keyPair
        self.allowedClientKeys = allowedClientKeys
    }

    /// Sets CURVE server options, a unique ZAP domain with this allow-list
    /// at the context's ZAP handler, and ZMQ_ZAP_ENFORCE_DOMAIN so the socket
    /// refuses everyone if no handler answers (fails closed).
    func apply(to socket: ZMQSocket, context: ZMQContext) throws {
        let domain = "atrest-\(Curve.domainCounter.add(1, ordering: .relaxed).newValue)"
        try context.authenticator().allow(allowedClientKeys, domain: domain)
        try socket.setOption(ZMQ_CURVE_SERVER, 1)
        try keyPair.secretKey.withUnsafeBytes { try socket.setOption(ZMQ_CURVE_SECRETKEY, bytes: $0) }
        try socket.setOption(ZMQ_ZAP_DOMAIN, string: domain)
        try socket.setOption(atrest_zmq_zap_enforce_domain, 1)
    }
}

/// Makes a socket a CURVE client of a server with a known public key.
public struct CurveClientConfiguration: Sendable {
    public var serverPublicKey: String
    public var keyPair: CurveKeyPair

    public init(serverPublicKey: String, keyPair: CurveKeyPair) {
        self.serverPublicKey = serverPublicKey
        self.keyPair = keyPair
    }

    func apply(to socket: ZMQSocket) throws {
        guard let server = Curve.decode(serverPublicKey), let mine = Curve.decode(keyPair.publicKey) else {
            throw MessagingError(.invalidConfiguration, "CURVE public key is not 40 characters of Z85")
        }
        try server.withUnsafeBytes { try socket.setOption(ZMQ_CURVE_SERVERKEY, bytes: $0) }
        try mine.withUnsafeBytes { try socket.setOption(ZMQ_CURVE_PUBLICKEY, bytes: $0) }
        try keyPair.secretKey.withUnsafeBytes { try socket.setOption(ZMQ_CURVE_SECRETKEY, bytes: $0) }
    }
}
