import AtRestMessaging
import AtRestWire
import Synchronization

/// An `RPCClient` plus the caller's bearer token: the base of the typed
/// clients (`IdentityClient`, `VaultClient`, and the blob clients).
///
/// The token can be replaced at any time (after a login or a refresh); every
/// call sends `authorization: Bearer <token>` when one is set.
public final class ServiceClient: Sendable {
    public let rpc: RPCClient
    private let token: Mutex<String?>
    public let timeout: Duration?

    public init(rpc: RPCClient, token: String? = nil, timeout: Duration? = nil) {
        self.rpc = rpc
        self.token = Mutex(token)
        self.timeout = timeout
    }

    /// A client of `endpoint` (plain TCP, or CURVE when `curve` is given).
    public convenience init(endpoint: String, token: String? = nil, timeout: Duration? = nil,
                            curve: CurveClientConfiguration? = nil) throws {
        var configuration = RPCClientConfiguration()
        configuration.curve = curve
        if let timeout { configuration.defaultTimeout = timeout }
        try self.init(rpc: RPCClient(endpoint: endpoint, configuration: configuration), token: token, timeout: timeout)
    }

    public var bearerToken: String? {
        get { token.withLock { $0 } }
        set { token.withLock { $0 = newValue } }
    }

    /// Calls `method` with the token; throws `RPCStatus` for every failure.
    public func call<Request: WireMessage, Reply: WireMessage>(
        _ method: RPCMethod<Request, Reply>, _ request: Request, idempotent: Bool = false
    ) async throws -> Reply {
        var metadata: [String: String] = [:]
        if let token = bearerToken { metadata["authorization"] = "Bearer \(token)" }
        return try await rpc.call(method.name, request: request, as: Reply.self, timeout: timeout, metadata: metadata,
                                  idempotent: idempotent).message
    }

    public func close() { rpc.close() }
}
