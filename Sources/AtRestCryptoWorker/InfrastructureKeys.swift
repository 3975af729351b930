import AtRestStorage
import AtRestWire

/// The infrastructure layer's key (issue 20) as the key cache sees it: the
/// `AccountContext.keys` entry with `infrastructure = true`, unwrapped through
/// the vault like the current key (as the account's managed identity, with
/// the same refusal rules) under a context of its own.
extension AccountContext {
    /// The infrastructure layer's entry, when the account has one.
    var infrastructureEntry: AccountKeyEntry? { keys.first(where: \.infrastructure) }
}
