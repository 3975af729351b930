import AtRestCrypto
import AtRestLocalState
import Glibc

/// Resolves the identity root key: the AES-256 key that seals the state file
/// and each signing key. From the environment variable named in the config,
/// else the key file (64 hex characters, mode 0600), created at first start
/// only: a missing key while state exists is an error, since a fresh key
/// would make every stored principal and key unreadable (`RootKeyFile`).
enum IdentityRootKey {
    static func resolve(config: IdentityConfiguration, stateExists: Bool) throws -> SecretBytes {
        do {
            return try RootKeyFile.resolve(
                path: config.resolvedRootKeyPath, environmentVariable: config.rootKeyEnvironmentVariable,
                mayCreate: !stateExists, service: "identity")
        } catch {
            throw IdentityError(error.message)
        }
    }
}

/// A start-up or configuration error of the identity service (not an RPC status).
public struct IdentityError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
