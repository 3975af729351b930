import AtRestClient
import AtRestWire
import Glibc

/// Who a gateway logs in as: a principal (tenant, name or id) and where its
/// secret is (a file, else `$ATREST_SECRET`). `atrest-nbd` and `atrest disk
/// serve --user` both build their `GatewaySession` here, so both log in
/// the same way and renew the token the same way (a minute before it
/// expires, and at once when a call is refused as UNAUTHENTICATED).
public struct GatewayLogin: Sendable {
    public var tenant: String
    public var user: String
    public var secretFile: String?

    public init(tenant: String = "", user: String, secretFile: String? = nil) {
        self.tenant = tenant
        self.user = user
        self.secretFile = secretFile
    }

    /// The secret: the first line of `secretFile`, else `$ATREST_SECRET`, trimmed.
    public func secret() throws(NBDGatewayError) -> String {
        let raw: String
        if let secretFile {
            do {
                raw = try CredentialsFile.readSecret(secretFile)
            } catch {
                throw NBDGatewayError("\(error)")
            }
        } else {
            raw = getenv("ATREST_SECRET").map { String(cString: $0) } ?? ""
        }
        let secret = String(raw.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
        guard !secret.isEmpty else { throw NBDGatewayError("no secret for '\(user)': give --secret-file or set ATREST_SECRET") }
        return secret
    }

    /// A session over `client` that logs in as this principal and renews
    /// its token; call `start()` to log in before serving.
    public func session(client: ServiceClient, maxCalls: Int = GatewaySession.defaultMaxCalls) throws(NBDGatewayError) -> GatewaySession {
        GatewaySession(client: client, credentials: IdentityLoginRequest(tenant: tenant, clientID: user, secret: try secret()), maxCalls: maxCalls)
    }
}
