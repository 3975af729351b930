import AtRestWire

extension AccountClient {
    /// Starts the account's re-encryption job on the front door (owner); returns at once.
    public func startReencrypt(_ account: String, container: String = "", pageSize: UInt32 = 0) async throws -> ReencryptJob {
        try await base.call(AccountMethod.startReencrypt, AccountReencryptRequest(accountID: account, container: container, pageSize: pageSize))
    }

    /// The account's re-encryption job and its progress.
    public func job(_ account: String) async throws -> ReencryptJob {
        try await base.call(AccountMethod.getJob, AccountRequest(accountID: account), idempotent: true)
    }

    /// Cancels the running job (owner).
    public func cancelJob(_ account: String) async throws -> ReencryptJob {
        try await base.call(AccountMethod.cancelJob, AccountRequest(accountID: account))
    }

    /// Deletes the wrapped keys of the versions a completed job moved every blob off (owner).
    public func retireVersions(_ account: String) async throws -> AccountInfo {
        try await base.call(AccountMethod.retireVersions, AccountRequest(accountID: account))
    }
}
