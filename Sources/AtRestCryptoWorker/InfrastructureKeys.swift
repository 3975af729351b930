import AtRestStorage
import AtRestWire

/// The infrastructure layer's key (issue 20) as the key cache sees it: the
/// `AccountContext.keys` entry with `infrastructure = true`, unwrapped through
/// the vault like the current key (as the account's managed identity, with
/// the same refusal rules) under a context of its own.
extension AccountContext {
    /// The infrastructure layer's entry, when the account has one.
    var infrastructureEntry: AccountKeyEntry? { keys.first(where: \.infrastructure) }

    /// This context with the infrastructure key in place of the current key
    /// (what `unwrap` and `check` get for the second layer).
    var infrastructureContext: AccountContext? {
        guard let entry = infrastructureEntry else { return nil }
        return AccountContext(accountID: accountID, tenant: tenant, managedIdentity: managedIdentity, wrappedKey: entry.wrappedKey,
                              provider: entry.provider, keyID: entry.keyID, keyVersion: entry.keyVersion,
                              accountKeyVersion: entry.accountKeyVersion, principalID: principalID, pool: pool)
    }

    /// Whether a key cached for `other` serves this context: the same wrapped
    /// current key and the same wrapped infrastructure key (or none).
    func sameWrappedKeys(as other: AccountContext) -> Bool {
        wrappedKey == other.wrappedKey && infrastructureEntry?.wrappedKey == other.infrastructureEntry?.wrappedKey
    }

    /// Whether `provider/keyID` wraps the current key or the infrastructure key.
    func isWrapped(byProvider provider: String, keyID: String) -> Bool {
        (self.provider == provider && self.keyID == keyID)
            || (infrastructureEntry.map { $0.provider == provider && $0.keyID == keyID } ?? false)
    }
}
