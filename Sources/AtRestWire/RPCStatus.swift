/// The outcome of a call: a gRPC code, a message a user can act on, and
/// optional retry advice and details. Thrown by handlers and clients.
///
/// Messages never contain key material.
public struct RPCStatus: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: StatusCode
    public var message: String
    /// When non-zero, do not retry before this many milliseconds.
    public var retryAfterMs: UInt32
    public var details: [String: String]

    public init(_ code: StatusCode, _ message: String = "", retryAfterMs: UInt32 = 0, details: [String: String] = [:]) {
        self.code = code
        self.message = message
        self.retryAfterMs = retryAfterMs
        self.details = details
    }

    public static let ok = RPCStatus(.ok)
    /// A call that needs a bearer token came without one (every service says it the same way).
    public static let noToken = RPCStatus(.unauthenticated, "no token: log in first (`atrest login`)", details: ["reason": "noToken"])

    public var isOK: Bool { code == .ok }

    public var description: String {
        message.isEmpty ? code.description : "\(code): \(message)"
    }
}

extension RPCStatus: WireMessage {
    public static let protoName = "atrest.v1.RpcStatus"

    public init(wire: WireFields) throws {
        // An unknown code from a newer peer reads as UNKNOWN, as in gRPC.
        self.init(
            StatusCode(rawValue: wire.int32(1)) ?? .unknown,
            wire.string(2),
            retryAfterMs: wire.uint32(3),
            details: wire.stringMap(4))
    }

    public var wire: WireFields {
        var fields: WireFields = [1: .int(code.rawValue), 2: .string(message), 3: .uint(retryAfterMs)]
        if !details.isEmpty { fields[4] = .map(details) }
        return fields
    }
}
