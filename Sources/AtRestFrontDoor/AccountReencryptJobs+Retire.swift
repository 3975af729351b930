import AtRestWire

extension AccountReencryptJobs {
    /// `Account/RetireVersions`: deletes the wrapped keys of the own-chain
    /// versions older than the version of a completed whole-account job
    /// (docs/FORMAT.md "Account key versions"). The completed record is the
    /// proof that no blob or container marker is under them: the job went
    /// through every container, and new writes were under its version or a
    /// later one all along (a put that raced with it won over the job's
    /// conditional publish, under the current version), and so through every
    /// record kind it covered (`ReencryptJob.coveredKinds`: queues, tables,
    /// disks and shares, record by record, each reseal conditional on the
    /// bytes read). Refused while a job runs, after a job that skipped blobs,
    /// for a job of one container, and while the account holds a kind the
    /// completed job did not cover (a job completed by a build that walked
    /// blobs only covered none: their records may still be under the older
    /// versions). When the version the name key comes from goes,
    /// its place is taken by a names-only entry (the name key wrapped by the
    /// KEK, from a worker: `AccountData/WrapNameKey`), so names still resolve.
    public func retireVersions(_ accountID: String, by principal: String) async throws -> AccountRecord {
        guard let record = try await registry.lookup(accountID) else { throw RPCStatus(.notFound, "account '\(accountID)' does not exist") }
        if let refusal = AccountDeletion.refusal(record.info) { throw refusal }
        let job = try Self.retirementProof(record, settleSeconds: settleSeconds)
        let retiring = record.keys.filter { $0.isOwnChain && !$0.namesOnly && $0.accountKeyVersion < job.accountKeyVersion }.map(\.accountKeyVersion)
        guard !retiring.isEmpty else { return record }
        let held = try await calls.calls().usage(accountID)
        let covered = Set(job.coveredKinds)
        let uncovered = Self.uncoveredKinds(held, job)
        guard uncovered.isEmpty else {
            throw RPCStatus(.failedPrecondition,
                            "account '\(accountID)' holds \(uncovered.joined(separator: ", ")), which its completed re-encryption job (\(job.jobID)) did not go through "
                            + "(it covered blobs\(covered.isEmpty ? "" : ", " + job.coveredKinds.joined(separator: ", ")) only), so their records may still be under versions "
                            + "\(retiring.map(String.init).joined(separator: ", ")); they are kept: run `atrest account reencrypt \(accountID)` to completion again",
                            details: ["reason": "otherKindsHeld", "kinds": uncovered.joined(separator: ",")])
        }
        // The version the name key is derived from goes: keep the name key itself (wrapped) first.
        let lowest = record.ownChainVersions.first ?? 1
        var names: AccountKeyEntry?
        if retiring.contains(lowest), !record.keys.contains(where: { $0.isOwnChain && $0.namesOnly }) {
            names = try await calls.calls().wrapNameKey(accountID)
            guard names?.namesOnly == true, names?.accountKeyVersion == lowest else {
                throw RPCStatus(.internal, "the worker returned a name key entry for version \(names?.accountKeyVersion ?? 0), not \(lowest)")
            }
        }
        let keep = names
        let retired = Set(retiring)
        let updated = try await registry.update(accountID) { current in
            guard var current else { throw RPCStatus(.notFound, "account '\(accountID)' was deleted meanwhile") }
            let proof = try Self.retirementProof(current, settleSeconds: settleSeconds)
            guard proof.jobID == job.jobID else { throw RPCStatus(.aborted, "a new re-encryption job started meanwhile; retry when it has completed") }
            current.keys.removeAll { $0.isOwnChain && !$0.namesOnly && retired.contains($0.accountKeyVersion) }
            if let keep, !current.keys.contains(where: { $0.isOwnChain && $0.namesOnly }) { current.keys.append(keep) }
            current.retiredAccountKeyVersions = Array(Set(current.retiredAccountKeyVersions).union(retired)).sorted()
            current.info.accountKeyVersions = current.ownChainVersions
            return current
        }
        let result = updated!
        logger.notice("account key versions retired", metadata: ["account": "\(accountID)", "versions": "\(retiring.sorted())",
                                                                  "namesOnly": "\(keep != nil)"])
        await auditQuietly(result, "versionsRetired", job, "by \(principal): versions \(retiring.sorted().map(String.init).joined(separator: ", ")) retired"
                           + (keep != nil ? "; the name key is kept wrapped (names-only entry)" : ""))
        return result
    }

    /// The record kinds the account holds (`held`) that `job` did not walk to the end.
    static func uncoveredKinds(_ held: AccountUsage, _ job: ReencryptJob) -> [String] {
        let covered = Set(job.coveredKinds)
        return [("queues", held.queues), ("tables", held.tables), ("disks", held.disks), ("shares", held.shares)]
            .filter { $0.1 > 0 && !covered.contains($0.0) }.map(\.0)
    }

    /// The completed whole-account job that allows retiring, or why not.
    static func retirementProof(_ record: AccountRecord, settleSeconds: Int64) throws(RPCStatus) -> ReencryptJob {
        let id = record.info.accountID
        guard let job = record.reencryptJob else {
            throw RPCStatus(.failedPrecondition, "account '\(id)' was never re-encrypted: run `atrest account reencrypt \(id)` to completion first",
                            details: ["reason": "noCompletedJob"])
        }
        guard job.state == ReencryptJob.completed else {
            throw RPCStatus(.failedPrecondition, "the re-encryption job of account '\(id)' is \(job.state), not completed: older versions may still be in use; "
                            + (job.isRunning ? "wait for it (`atrest job show \(id)`)" : "run `atrest account reencrypt \(id)` to completion first"),
                            details: ["reason": "jobNotCompleted", "state": job.state])
        }
        guard job.container.isEmpty else {
            throw RPCStatus(.failedPrecondition, "the last re-encryption job of account '\(id)' covered container '\(job.container)' only; run it over the whole account first",
                            details: ["reason": "jobNotWholeAccount"])
        }
        if let refusal = walkRefusal(job, account: id, settleSeconds: settleSeconds) { throw refusal }
        guard job.skipped == 0 else {
            throw RPCStatus(.failedPrecondition, "the re-encryption job of account '\(id)' left \(job.skipped) blobs under older versions (sealed with customer-provided keys): they stay readable only while those versions are kept",
                            details: ["reason": "blobsSkipped"])
        }
        return job
    }

    /// Why `job` proves nothing about writes of calls admitted under an older
    /// version (nil: it does): they end at most `settleSeconds` after the
    /// job's version became current, and a walk that began before then may
    /// have passed their place already.
    static func walkRefusal(_ job: ReencryptJob, account id: String, settleSeconds: Int64) -> RPCStatus? {
        guard job.versionSinceUnix == 0 || job.plannedAtUnix == 0 || job.plannedAtUnix < job.versionSinceUnix + settleSeconds else { return nil }
        let when = job.plannedAtUnix == 0 || job.versionSinceUnix == 0
            ? "at a time it did not record (a job of a build before the settle time)"
            : "\(job.plannedAtUnix - job.versionSinceUnix) s after its key version became current, sooner than the \(settleSeconds) s in which calls admitted under the previous version may still write"
        return RPCStatus(.failedPrecondition, "the re-encryption job of account '\(id)' (\(job.jobID)) began its walk \(when): run `atrest account reencrypt \(id)` to completion again",
                         details: ["reason": "walkTooEarly"])
    }
}
