import AtRestIdentity
import AtRestWire
import Foundation

/// A service principal's token, logged in from its credentials file and
/// renewed before it expires. Services (vault, front door, workers) use it
/// for their own calls to other services.
public actor ServiceCredentials {
    private let identity: IdentityClient
    private let clientID: String
    private let secret: String
    private var current: IdentityToken?

    /// - Parameter secretFile: `<identity data>/credentials/<name>.secret` or a copy of it.
    public init(identity: IdentityClient, clientID: String, secretFile: String) throws {
        do {
            secret = try CredentialsFile.readSecret(secretFile)
        } catch {
            throw RPCStatus(.failedPrecondition, "service principal '\(clientID)': \(error)")
        }
        self.identity = identity
        self.clientID = clientID
    }

    /// A token valid for at least another minute (logs in when needed).
    public func token() async throws -> String {
        let now = Int64(Date().timeIntervalSince1970)
        if let current, current.expiresAtUnix - 60 > now { return current.token }
        let fresh = try await identity.login(clientID: clientID, secret: secret)
        current = fresh
        return fresh.token
    }

    /// Forgets the token (after an UNAUTHENTICATED answer, e.g. a rotated key).
    public func invalidate() { current = nil }
}
