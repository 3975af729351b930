import AtRestClient
import AtRestCrypto
import AtRestRuntime
import AtRestTokens
import AtRestWire
import Logging
import Synchronization

/// The server-side re-encryption job (issue 20; docs/DATA-PATH.md
/// "Re-encryption job").
///
/// `start` counts what the job goes through (`AccountData/ReencryptPlan`,
/// through the workers), records the job in the account's registry record
/// (`AccountRecord.reencryptJob`) with an audit entry in the vault
/// (`KeyVault/RecordAccountEvent`, as the account's managed identity), and
/// returns; a task of this front door then drives `AccountData/Reencrypt`
/// page by page through its own public endpoint (as the purge drives
/// `AccountData/Erase`), writing the progress and the next page token to the
/// record after every page. Each page is idempotent (an object already under
/// the current version is left alone; a rewrite is published only over the
/// version read), so a page done twice is harmless.
///
/// Resuming: the record names the runner (`host:data directory` of the front
/// door) and the time of its last write. Every `scanInterval` each front door
/// looks for running jobs: its own that no task of it runs (it was restarted,
/// SIGKILL included) it resumes at once from the recorded page; another's
/// whose last write is older than `lease` it takes over with a conditional
/// registry write (of several front doors exactly one wins). A cancel is a
/// registry write too: the runner stops at its next progress write.
public final class AccountReencryptJobs: Sendable {
    let manager: AccountManager
    let calls: DataCallsBox
    /// This front door (stable across its restarts).
    let runner: String
    let lease: Int64
    /// Seconds after an account key version became current before a job's
    /// walk may begin: the longest call time (no call admitted under the
    /// previous version runs longer), two registry refreshes (a front door
    /// admits under the previous version until it has read the rotation) and
    /// 2 s for clocks and the last write's landing. `retireVersions` accepts
    /// only a job whose walk began that long after its version became current.
    let settleSeconds: Int64
    public let scanInterval: Duration
    private let active = Mutex<Set<String>>([])
    public static let defaultPageSize: UInt32 = 100

    init(manager: AccountManager, calls: DataCallsBox, runner: String, settle: Duration, lease: Int64 = 30, scanInterval: Duration = .seconds(2)) {
        self.manager = manager
        self.calls = calls
        self.runner = runner
        self.settleSeconds = Int64((settle + .milliseconds(999)).components.seconds)
        self.lease = lease
        self.scanInterval = scanInterval
    }

    var registry: AccountRegistry { manager.registry }
    var logger: Logger { manager.logger }

    /// Starts a job on `account` (refused while one is running); returns it as recorded.
    public func start(_ accountID: String, container: String, pageSize: UInt32, by principal: String) async throws -> ReencryptJob {
        guard let record = try await registry.lookup(accountID) else { throw RPCStatus(.notFound, "account '\(accountID)' does not exist") }
        if let refusal = AccountDeletion.refusal(record.info) { throw refusal }
        if let job = record.reencryptJob, job.isRunning { throw Self.busy(accountID, job) }
        guard pageSize <= 1000 else { throw RPCStatus(.invalidArgument, "page size is 1-1000 objects, got \(pageSize)") }
        // The listing counts as the walk's start only if it began after the settle time.
        let listedAt = manager.now()
        let plan = try await calls.calls().reencryptPlan(accountID, container: container)
        let now = manager.now()
        var job = ReencryptJob()
        job.jobID = Hex.encode(try SecureRandom.bytes(8))
        job.state = ReencryptJob.running
        job.container = container
        job.accountKeyVersion = max(1, record.info.encryption.accountKeyVersion)
        job.containers = plan.containers
        job.objectsTotal = plan.objects
        job.bytesTotal = plan.bytes
        job.startedAtUnix = now
        job.updatedAtUnix = now
        // Calls admitted under the previous version may still write under it:
        // the walk (from a fresh listing of the containers) waits them out.
        let changed = record.info.encryption.changedAtUnix
        job.versionSinceUnix = changed > 0 ? changed : now
        job.walkFromUnix = job.versionSinceUnix + settleSeconds
        if listedAt >= job.walkFromUnix {
            job.plannedAtUnix = listedAt
        } else {
            job.message = Self.waitingMessage(job)
        }
        job.runner = runner
        job.startedBy = principal
        job.pageSize = pageSize == 0 ? Self.defaultPageSize : pageSize
        // A whole-account job walks the record kinds after the containers (recorded, so retiring knows what it covered).
        job.kinds = container.isEmpty ? BlobReencryptRequest.recordKinds : []
        // Audited before it exists: a job the log does not show never runs.
        try await audit(record, "reencryptStarted", job, "by \(principal): \(plan.containers.count) containers, \(plan.objects) blobs, \(plan.bytes) bytes"
                        + (job.kinds.isEmpty ? "" : ", then \(job.kinds.joined(separator: ", "))")
                        + (job.plannedAtUnix == 0 ? "; the walk begins at \(job.walkFromUnix) (unix)" : ""))
        let stored = job
        try await registry.update(accountID) { current in
            guard var current else { throw RPCStatus(.notFound, "account '\(accountID)' was deleted meanwhile") }
            if let running = current.reencryptJob, running.isRunning { throw Self.busy(accountID, running) }
            current.reencryptJob = stored
            return current
        }
        logger.notice("re-encryption job started", metadata: [
            "account": "\(accountID)", "job": "\(job.jobID)", "version": "\(job.accountKeyVersion)", "blobs": "\(plan.objects)",
        ])
        launch(accountID)
        return job.withETA(now: now)
    }

    /// The account's job as recorded (with an estimate of the time left).
    public func job(_ record: AccountRecord) throws -> ReencryptJob {
        guard let job = record.reencryptJob else {
            throw RPCStatus(.notFound, "account '\(record.info.accountID)' has no re-encryption job; `atrest account reencrypt \(record.info.accountID)` starts one")
        }
        return job.withETA(now: manager.now())
    }

    /// Cancels the running job (the runner stops after the page it is on).
    public func cancel(_ accountID: String, by principal: String) async throws -> ReencryptJob {
        let now = manager.now()
        let updated = try await registry.update(accountID) { current in
            guard var current else { throw RPCStatus(.notFound, "account '\(accountID)' does not exist") }
            guard var job = current.reencryptJob, job.isRunning else {
                throw RPCStatus(.failedPrecondition, "account '\(accountID)' has no running re-encryption job",
                                details: ["state": current.reencryptJob?.state ?? "none"])
            }
            job.state = ReencryptJob.cancelled
            job.finishedAtUnix = now
            job.message = "cancelled by \(principal)"
            current.reencryptJob = job
            return current
        }
        let record = updated!
        let job = record.reencryptJob!
        logger.notice("re-encryption job cancelled", metadata: ["account": "\(accountID)", "job": "\(job.jobID)"])
        await auditQuietly(record, "reencryptCancelled", job, "by \(principal) after \(job.objectsDone) of \(job.objectsTotal) blobs")
        return job
    }

    /// One scan: resumes this front door's jobs that no task runs, and takes over others' whose lease ran out.
    public func scan() async {
        let records: [AccountRecord]
        do { records = try await registry.all() } catch {
            logger.warning("re-encryption scan could not list the accounts", metadata: ["error": "\(error)"])
            return
        }
        let now = manager.now()
        for record in records {
            guard let job = record.reencryptJob, job.isRunning else { continue }
            let accountID = record.info.accountID
            if active.withLock({ $0.contains(accountID) }) { continue }
            if job.runner != runner {
                guard now - job.updatedAtUnix > lease else { continue }
                var claimed = false
                do {
                    try await registry.update(accountID) { current in
                        claimed = false
                        guard var current, var running = current.reencryptJob, running.jobID == job.jobID, running.isRunning,
                              running.runner == job.runner, running.updatedAtUnix == job.updatedAtUnix else { return current }
                        running.runner = runner
                        running.updatedAtUnix = now
                        current.reencryptJob = running
                        claimed = true
                        return current
                    }
                } catch {
                    continue
                }
                guard claimed else { continue }
                logger.notice("re-encryption job taken over", metadata: ["account": "\(accountID)", "job": "\(job.jobID)", "from": "\(job.runner)"])
            }
            launch(accountID)
        }
    }

    private func launch(_ accountID: String) {
        guard active.withLock({ $0.insert(accountID).inserted }) else { return }
        Task {
            await run(accountID)
            active.withLock { _ = $0.remove(accountID) }
        }
    }

    /// Drives the job of `accountID` until it completes, fails, is cancelled or taken over.
    func run(_ accountID: String) async {
        var failures = 0
        while !Task.isCancelled {
            guard let record = try? await registry.fresh(accountID), var job = record.reencryptJob,
                  job.isRunning, job.runner == runner else { return }
            if let refusal = AccountDeletion.refusal(record.info) {
                await finish(accountID, job, state: ReencryptJob.failed, message: refusal.message)
                return
            }
            if job.plannedAtUnix == 0 {
                // Waiting out calls admitted under the previous version; the
                // lease is renewed meanwhile so no other front door takes over.
                let left = job.walkFromUnix - manager.now()
                if left > 0 {
                    try? await Task.sleep(for: .seconds(min(left, max(1, lease / 3))))
                } else {
                    do {
                        let listedAt = manager.now()
                        let plan = try await calls.calls().reencryptPlan(accountID, container: job.container)
                        job.containers = plan.containers
                        job.objectsTotal = plan.objects
                        job.bytesTotal = plan.bytes
                        job.plannedAtUnix = listedAt
                        job.message = ""
                        failures = 0
                        logger.notice("re-encryption walk begins", metadata: ["account": "\(accountID)", "job": "\(job.jobID)", "blobs": "\(plan.objects)"])
                    } catch {
                        failures += 1
                        logger.warning("re-encryption plan failed; retrying", metadata: ["account": "\(accountID)", "job": "\(job.jobID)", "error": "\(error)"])
                        if failures >= 10 {
                            await finish(accountID, job, state: ReencryptJob.failed, message: "listing the containers: \(error)")
                            return
                        }
                        try? await Task.sleep(for: .seconds(1))
                        continue
                    }
                }
                job.updatedAtUnix = manager.now()
                guard await recordProgress(job, accountID) else { return }
                continue
            }
            guard let request = Self.nextPage(job) else {
                await finish(accountID, job, state: ReencryptJob.completed, message: "")
                return
            }
            let place = request.kind.isEmpty ? "container '\(request.container)'" : request.kind
            let page: BlobReencryptResponse
            do {
                page = try await calls.calls().reencrypt(accountID, request)
                failures = 0
            } catch let status as RPCStatus where status.code == .notFound && request.kind.isEmpty {
                // The container was deleted meanwhile: nothing of it is left to move.
                page = BlobReencryptResponse(objects: 0, rewritten: 0, bytes: 0, raced: 0, skipped: 0, nextPageToken: "", accountKeyVersion: 0)
            } catch {
                failures += 1
                logger.warning("re-encryption page failed; retrying", metadata: ["account": "\(accountID)", "job": "\(job.jobID)",
                                                                                "at": "\(place)", "error": "\(error)"])
                if failures >= 10 {
                    await finish(accountID, job, state: ReencryptJob.failed, message: "\(place): \(error)")
                    return
                }
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            job.count(page, records: !request.kind.isEmpty)
            if page.nextPageToken.isEmpty {
                if request.kind.isEmpty { job.containerIndex += 1 } else { job.kindIndex += 1 }
                job.pageToken = ""
            } else {
                job.pageToken = page.nextPageToken
            }
            job.updatedAtUnix = manager.now()
            guard await recordProgress(job, accountID) else { return }
        }
    }

    /// The page the job asks for next: of its current container, else of its
    /// current record kind (records per page: 10 × the page size, at most
    /// 10,000); nil when it has gone through everything.
    static func nextPage(_ job: ReencryptJob) -> BlobReencryptRequest? {
        let pageSize = job.pageSize == 0 ? defaultPageSize : job.pageSize
        if Int(job.containerIndex) < job.containers.count {
            return BlobReencryptRequest(container: job.containers[Int(job.containerIndex)], pageToken: job.pageToken, maxObjects: pageSize)
        }
        guard Int(job.kindIndex) < job.kinds.count else { return nil }
        return BlobReencryptRequest(container: "", pageToken: job.pageToken, maxObjects: min(BlobReencryptRequest.maxRecordsPerPage, pageSize * 10), kind: job.kinds[Int(job.kindIndex)])
    }

    /// Writes the progress if the job is still this runner's and running; false: stop.
    private func recordProgress(_ job: ReencryptJob, _ accountID: String) async -> Bool {
        var ours = false
        do {
            try await registry.update(accountID) { current in
                ours = false
                guard var current, let recorded = current.reencryptJob, recorded.jobID == job.jobID, recorded.isRunning,
                      recorded.runner == runner else { return current }
                current.reencryptJob = job
                ours = true
                return current
            }
        } catch {
            logger.warning("re-encryption progress could not be recorded; the page is done again", metadata: ["account": "\(accountID)", "error": "\(error)"])
            try? await Task.sleep(for: .seconds(1))
            return true
        }
        return ours
    }

    private func finish(_ accountID: String, _ job: ReencryptJob, state: String, message: String) async {
        var done = job
        done.state = state
        done.message = message
        done.finishedAtUnix = manager.now()
        done.updatedAtUnix = done.finishedAtUnix
        let final = done
        guard await recordProgress(final, accountID) else { return }
        logger.notice("re-encryption job \(state)", metadata: ["account": "\(accountID)", "job": "\(job.jobID)", "rewritten": "\(job.rewritten)"])
        guard let record = try? await registry.lookup(accountID) else { return }
        await auditQuietly(record, state == ReencryptJob.completed ? "reencryptCompleted" : "reencryptFailed", final,
                           "\(final.objectsDone) blobs looked at, \(final.rewritten) rewritten (\(final.bytesDone) bytes), \(final.raced) raced, \(final.skipped) skipped"
                           + (final.kinds.isEmpty ? "" : "; \(final.recordsDone) records of \(final.coveredKinds.isEmpty ? "no kind" : final.coveredKinds.joined(separator: ", ")) "
                              + "looked at, \(final.recordsRewritten) resealed, \(final.recordsRaced) raced")
                           + (message.isEmpty ? "" : ": " + message))
    }

    static func waitingMessage(_ job: ReencryptJob) -> String {
        "waiting until \(ISO8601.format(unixSeconds: job.walkFromUnix)) for calls admitted under the previous account key version to end"
    }

    static func busy(_ accountID: String, _ job: ReencryptJob) -> RPCStatus {
        RPCStatus(.failedPrecondition,
                  "account '\(accountID)' already has a running re-encryption job (\(job.jobID), \(job.objectsDone) of \(job.objectsTotal) blobs); "
                  + "`atrest job show \(accountID)` follows it, `atrest job cancel \(accountID)` stops it",
                  details: ["reason": "jobRunning", "job": job.jobID])
    }

    /// The audit entry of a job event (vault `RecordAccountEvent` as the account's managed identity, on its KEK).
    func audit(_ record: AccountRecord, _ event: String, _ job: ReencryptJob, _ text: String) async throws {
        let e = record.info.encryption
        let detail = "job \(job.jobID), account key version \(job.accountKeyVersion)" + (job.container.isEmpty ? "" : ", container \(job.container)") + ": " + text
        try await manager.identityVaultClient(account: record.info.accountID)
            .recordAccountEvent(event, key: KeyRef(provider: e.provider, keyID: e.keyID), detail: String(detail.prefix(RecordAccountEventRequest.maxDetail)))
    }

    func auditQuietly(_ record: AccountRecord, _ event: String, _ job: ReencryptJob, _ text: String) async {
        do { try await audit(record, event, job, text) } catch {
            logger.warning("the audit entry of a re-encryption job event could not be recorded", metadata: [
                "account": "\(record.info.accountID)", "job": "\(job.jobID)", "event": "\(event)", "error": "\(error)",
            ])
        }
    }
}

extension ReencryptJob {
    /// Adds a page's counts: to the blobs', or to the records' (a page of a record kind).
    mutating func count(_ page: BlobReencryptResponse, records: Bool) {
        if records {
            recordsDone += UInt64(page.objects)
            recordsRewritten += UInt64(page.rewritten)
            recordBytes += page.bytes
            recordsRaced += UInt64(page.raced)
        } else {
            objectsDone += UInt64(page.objects)
            bytesDone += page.bytes
            rewritten += UInt64(page.rewritten)
            raced += UInt64(page.raced)
        }
        skipped += UInt64(page.skipped)
    }

    func withETA(now: Int64) -> ReencryptJob {
        var job = self
        job.etaSeconds = eta(now: now)
        return job
    }
}
