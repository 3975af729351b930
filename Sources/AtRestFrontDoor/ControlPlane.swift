import Dispatch
import AtRestCrypto
import AtRestIdentity
import AtRestMessaging
import AtRestWire

/// What the front door answers itself: `atrest.v1.Account/*`, and the
/// identity and vault methods meant for users and tenants, forwarded as they
/// are (token included) so clients need only the front door's endpoint.
/// Which ones is the allow-list in `PublicMethods`; everything else is
/// refused here whatever the token (service methods, and the vault methods
/// that carry key material in clear, are for services, which call the
/// identity and the vault on their own endpoints).
///
/// A forwarded `Login` carries the caller's connection as
/// `LoginGate.sourceMetadataKey`, so the identity service bounds password
/// hashing per public client (docs/IDENTITY.md); reserved metadata a client
/// sends itself is dropped.
struct ControlPlane: RPCService {
    let accounts: RPCRouter
    let identity: RPCClient
    let vault: RPCClient

    func handle(_ request: RPCRequest) async throws -> RPCResponse {
        var header = request.header
        header.metadata[AccountContext.metadataKey] = nil
        header.metadata[LoginGate.sourceMetadataKey] = nil
        let method = header.method
        if method.hasPrefix("atrest.v1.Account/") {
            var clean = request
            clean.header = header
            return try await accounts.handle(clean)
        }
        let upstream: RPCClient
        switch try PublicMethods.upstream(for: method) {
        case .identity:
            upstream = identity
            if method == LoginGate.loginMethod { header.metadata[LoginGate.sourceMetadataKey] = Hex.encode(request.peer) }
        case .vault:
            upstream = vault
        }
        var timeout: Duration = .seconds(30)
        if let deadline = request.deadline {
            let left = Int64(deadline.uptimeNanoseconds) - Int64(DispatchTimeShim.nowNanos())
            timeout = .nanoseconds(max(1_000_000, left - 2_000_000))
        }
        let options = CallOptions(timeout: timeout, metadata: header.metadata, idempotencyKey: header.idempotencyKey)
        return try await upstream.call(method, body: request.body, parts: request.parts, options: options)
    }
}

enum DispatchTimeShim {
    static func nowNanos() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
}
