import AtRestCrypto

extension AccountKey {
    /// The account's stable name key (docs/FORMAT.md "Account key versions"),
    /// for `AccountData/WrapNameKey` alone: it is wrapped by the account's KEK
    /// as a names-only entry before the version it was derived from is retired.
    public var stableNameKey: SecretBytes { nameKey }
}
