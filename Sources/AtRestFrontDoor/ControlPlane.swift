import AtRestCrypto
import AtRestLoginGate
import AtRestMessaging
import AtRestTokens
import AtRestWire
import Dispatch

/// What the front door answers itself: `atrest.v1.Account/*`, and the
/// identity and vault methods meant for users and tenants, forwarded as they
/// are (token included) so clients need only the front door's endpoint.
/// Which ones is the allow-list in `PublicMethods`; everything else is
/// refused here whatever the token (service methods, and the vault methods
/// that carry key material in clear, are for services, which call the
/// identity and the vault on their own endpoints).
///
/// Logins: at most as many are forwarded at once, in all and per client
/// connection, as the identity service hashes (`LoginGate`); the excess is
/// RESOURCE_EXHAUSTED here at once, so a flood never reaches the identity.
/// A forwarded `Login` carries the caller's connection as
/// `LoginGate.sourceMetadataKey`, so the identity applies the same limits
/// per public client (docs/IDENTITY.md); reserved metadata a client sends
/// itself is dropped.
struct ControlPlane: RPCService {
    let accounts: RPCRouter
    let identity: RPCClient
    let vault: RPCClient
    let logins = LoginGate(policy: LoginGate.Policy())

    func handle(_ request: RPCRequest) async throws -> RPCResponse {
        var header = request.header
        header.accountContext = nil
        header.metadata[LoginGate.sourceMetadataKey] = nil
        let method = header.method
        let upstream: RPCClient
        switch try PublicMethods.upstream(for: method) {
        case .account:
            var clean = request
            clean.header = header
            return try await accounts.handle(clean)
        case .identity where method == LoginGate.loginMethod:
            let source = Hex.encode(request.peer)
            header.metadata[LoginGate.sourceMetadataKey] = source
            return try await logins.whileForwarding(source: source) {
                try await forward(request, header: header, to: identity)
            }
        case .identity:
            upstream = identity
        case .vault:
            upstream = vault
        }
        return try await forward(request, header: header, to: upstream)
    }

    private func forward(_ request: RPCRequest, header: RPCHeader, to upstream: RPCClient) async throws -> RPCResponse {
        let method = header.method
        var timeout: Duration = .seconds(30)
        if let deadline = request.deadline {
            timeout = max(.milliseconds(1), deadline.timeLeft - .milliseconds(2))
        }
        let options = CallOptions(timeout: timeout, metadata: header.metadata, idempotencyKey: header.idempotencyKey)
        return try await upstream.call(method, body: request.body, parts: request.parts, options: options)
    }
}
