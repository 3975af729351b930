import Dispatch
import AtRestMessaging
import AtRestWire

/// What the front door answers itself: `atrest.v1.Account/*`, and the
/// identity and vault methods, forwarded as they are (token included) so
/// clients need only the front door's endpoint.
///
/// Except the vault methods that carry key material in clear (`Wrap` takes
/// a plaintext key, `Unwrap` returns one): those are for services, which
/// call the vault directly, and are refused here so that no account key
/// ever crosses the public endpoint or sits in the front door's buffers.
struct ControlPlane: RPCService {
    static let keyMaterialMethods: Set<String> = ["atrest.v1.KeyVault/Wrap", "atrest.v1.KeyVault/Unwrap"]

    let accounts: RPCRouter
    let identity: RPCClient
    let vault: RPCClient

    func handle(_ request: RPCRequest) async throws -> RPCResponse {
        var header = request.header
        header.metadata[AccountContext.metadataKey] = nil
        let method = header.method
        if method.hasPrefix("atrest.v1.Account/") {
            var clean = request
            clean.header = header
            return try await accounts.handle(clean)
        }
        let upstream: RPCClient
        if method.hasPrefix("atrest.v1.Identity/") {
            upstream = identity
        } else if method.hasPrefix("atrest.v1.KeyVault/") {
            guard !ControlPlane.keyMaterialMethods.contains(method) else {
                throw RPCStatus(.permissionDenied, "\(method) is not served at the public endpoint: key material never "
                                + "crosses the front door; services call the key vault directly")
            }
            upstream = vault
        } else {
            throw RPCStatus(.unimplemented, "unknown method '\(method)'")
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
