import AtRestWire

extension AccountService {
    /// The re-encryption job and retiring versions (AccountReencryptJobs):
    /// start, cancel and retire need an owner of the account, showing the job
    /// a reader too (as `Account/Get`, which shows it); another tenant's
    /// account answers as one that does not exist, like every Account method.
    func registerJobMethods(_ router: inout RPCRouter) {
        router.register(AccountMethod.startReencrypt) { (request: AccountReencryptRequest, rpc) async throws -> ReencryptJob in
            let (record, claims) = try await owned(request.accountID, rpc)
            return try await jobs.start(record.info.accountID, container: request.container, pageSize: request.pageSize, by: claims.subject)
        }
        router.register(AccountMethod.getJob) { (request: AccountRequest, rpc) async throws -> ReencryptJob in
            let record = try await readable(request.accountID, rpc)
            // Read through to the registry backend: another front door may be running it (the cache lags by the refresh interval).
            return try jobs.job(try await manager.registry.fresh(record.info.accountID) ?? record)
        }
        router.register(AccountMethod.cancelJob) { (request: AccountRequest, rpc) async throws -> ReencryptJob in
            let (record, claims) = try await owned(request.accountID, rpc)
            return try await jobs.cancel(record.info.accountID, by: claims.subject)
        }
        router.register(AccountMethod.retireVersions) { (request: AccountRequest, rpc) async throws -> AccountInfo in
            let (record, claims) = try await owned(request.accountID, rpc)
            return try await jobs.retireVersions(record.info.accountID, by: claims.subject).shownInfo(now: manager.now())
        }
    }
}

extension AccountRecord {
    /// The account as `Account/Get` shows it: with its re-encryption job and retired versions.
    func shownInfo(now: Int64) -> AccountInfo {
        var info = info
        info.reencryptJob = reencryptJob?.withETA(now: now)
        info.retiredAccountKeyVersions = retiredAccountKeyVersions
        return info
    }
}
