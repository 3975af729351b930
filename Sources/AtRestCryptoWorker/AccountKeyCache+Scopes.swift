import AtRestStorage
import AtRestWire

extension AccountKeyCache {
    /// The account's key (`key(for:)`) that also opens the objects of its
    /// encryption scopes: each enabled scope's key unwrapped and cached like
    /// any version (a vault event for its KEK drops it, the re-check refuses
    /// it). A disabled scope, or one whose KEK the vault refuses, stays known
    /// but blocked: its objects fail with a status naming the scope or the
    /// key, and everything else reads. Accounts without scopes pay nothing.
    public func keyWithScopes(for context: AccountContext) async throws -> AccountKey {
        let base = try await key(for: context)
        let scopes = context.keys.filter { !$0.scope.isEmpty && !$0.infrastructure }
        guard !scopes.isEmpty else { return base }
        var key = base
        var opened: [AccountKey] = []
        for entry in scopes {
            if entry.disabled {
                key = key.blocking(entry.accountKeyVersion, Self.blocked(BlobScopes.disabled(entry.scope, account: context.accountID)))
                continue
            }
            do {
                opened.append(try await entryKey(entry, in: context))
            } catch let status as RPCStatus {
                key = key.blocking(entry.accountKeyVersion, Self.blocked(status, scope: entry.scope))
            }
        }
        return key.adding(opened)
    }

    private static func blocked(_ status: RPCStatus, scope: String? = nil) -> StorageError {
        var error = StorageError(.keyUnavailable, scope.map { "encryption scope '\($0)': \(status.message)" } ?? status.message)
        error.details = status.details
        if let scope { error.details["scope"] = scope }
        return error
    }
}
