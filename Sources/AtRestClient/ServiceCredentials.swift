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
        guard let text = try? String(contentsOfFile: secretFile, encoding: .utf8) else {
            throw RPCStatus(.failedPrecondition, "cannot read the credentials file '\(secretFile)' of service principal '\(clientID)'")
        }
        let secret = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !secret.isEmpty else { throw RPCStatus(.failedPrecondition, "credentials file '\(secretFile)' is empty") }
        self.identity = identity
        self.clientID = clientID
        self.secret = secret
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
