import AtRestClient
import AtRestCrypto
import AtRestMessaging
import AtRestTokens
import AtRestWire

/// Unwraps an account key through the vault as the account's managed
/// identity: the vault checks that identity's grant on the KEK, so a worker
/// can only obtain keys the account itself may use.
public struct AccountKeyVault: Sendable {
    public let vault: RPCClient
    public let tokens: ServiceTokens

    public init(vault: RPCClient, tokens: ServiceTokens) {
        self.vault = vault
        self.tokens = tokens
    }

    /// The plaintext account key, or a status that says why it is not accessible.
    public func unwrap(_ context: AccountContext) async throws -> SecretBytes {
        do {
            var reply = try await withFreshTokenOnce(context) { vault in
                try await vault.unwrap(context.wrappedKey, context: AccountWrapContext.bytes(account: context.accountID))
            }
            let key = SecretBytes(reply.plaintext)
            // Best effort: the decoded copy is wiped; the reply frame is freed by the messaging layer.
            _ = reply.plaintext.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0) }
            return key
        } catch let status as RPCStatus {
            throw KeyAccessError.from(status, context: context)
        }
    }

    /// Runs a vault call as the account's managed identity; a token the vault
    /// refuses (expired, or older than the account's move to another tenant)
    /// is dropped and the call made once more with a new one.
    func withFreshTokenOnce<R>(_ context: AccountContext, _ call: (VaultClient) async throws -> R) async throws -> R {
        func client() async throws -> VaultClient {
            let token = try await tokens.managedIdentityToken(account: context.accountID)
            return VaultClient(ServiceClient(rpc: vault, token: token.token, timeout: .seconds(5)))
        }
        do {
            return try await call(try await client())
        } catch let status as RPCStatus where status.code == .unauthenticated {
            tokens.forget(account: context.accountID)
            return try await call(try await client())
        }
    }
}

extension AccountKeyVault {
    /// Whether the account's managed identity may still unwrap with the
    /// context's key: one KeyStatus call (no key material moves). Throws the
    /// same status a refused Unwrap would give.
    public func check(_ context: AccountContext) async throws {
        let key = KeyRef(provider: context.provider, keyID: context.keyID)
        let status: KeyStatus
        do {
            status = try await withFreshTokenOnce(context) { vault in try await vault.keyStatus(key) }
        } catch let status as RPCStatus {
            throw KeyAccessError.from(status, context: context)
        }
        guard status.unwrapAllowed else {
            throw KeyAccessError.from(RPCStatus(status.state == "enabled" ? .permissionDenied : .failedPrecondition, status.reason),
                                      context: context)
        }
    }
}

/// Turns a vault refusal into the status every call of the account gets.
enum KeyAccessError {
    /// Vault answers that mean "this key cannot be used now" (as opposed to
    /// "the vault is unreachable", which keeps a cached key until its TTL).
    static func isKeyRefusal(_ status: RPCStatus) -> Bool {
        ![.unavailable, .deadlineExceeded, .resourceExhausted, .internal, .unknown, .cancelled].contains(status.code)
    }

    static func from(_ status: RPCStatus, context: AccountContext) -> RPCStatus {
        guard isKeyRefusal(status) else {
            return RPCStatus(status.code, "the key vault could not be reached to unlock account '\(context.accountID)': \(status.message)",
                             retryAfterMs: status.retryAfterMs, details: status.details)
        }
        let key = "\(context.provider)/\(context.keyID)"
        var details = status.details
        details["reason"] = "keyInaccessible"
        details["key"] = key
        return RPCStatus(
            status.code == .permissionDenied ? .permissionDenied : .failedPrecondition,
            "the encryption key of account '\(context.accountID)' (\(key)) is not accessible: \(status.message)",
            details: details)
    }
}
