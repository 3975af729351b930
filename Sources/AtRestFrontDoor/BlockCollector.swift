import AtRestWire
import Logging

/// Removes uncommitted staged blocks (docs/DATA-PATH.md "Uncommitted
/// blocks"): every `interval`, for each active account, a worker goes
/// through its containers (`AccountData/CollectBlocks`) and deletes the
/// staged block files that no committed block list names and that were
/// staged more than `retention` ago (uploads that were never committed, or
/// stagings a later one of the same block id replaced), and at once those
/// sealed under an account key version the account no longer has (they can
/// never be committed). The same call then collects the orphaned extents of
/// the account's disks and files older than `retention` (docs/FORMAT.md
/// "Extents", `OrphanExtents`). Every front door runs it; two passes at once
/// are harmless (each delete is conditional on the version it looked at,
/// each extent's tombstone on its marker being absent).
public final class BlockCollector: Sendable {
    let manager: AccountManager
    let calls: DataCallsBox
    public let interval: Duration
    let retentionSeconds: UInt32

    init(manager: AccountManager, calls: DataCallsBox, interval: Duration, retention: Duration) {
        self.manager = manager
        self.calls = calls
        self.interval = interval
        self.retentionSeconds = UInt32(clamping: retention.components.seconds)
    }

    var logger: Logger { manager.logger }

    /// One pass over the active accounts; what it removed in all.
    @discardableResult
    public func pass() async -> UInt64 {
        let records: [AccountRecord]
        do { records = try await manager.registry.all() } catch {
            logger.warning("block collection could not list the accounts", metadata: ["error": "\(error)"])
            return 0
        }
        var removed: UInt64 = 0
        for record in records where AccountDeletion.refusal(record.info) == nil {
            let accountID = record.info.accountID
            do {
                let result = try await calls.calls().collectBlocks(accountID, retentionSeconds: retentionSeconds)
                removed += result.removed
                if result.removed > 0 || result.failed > 0 {
                    logger.info("uncommitted blocks collected", metadata: [
                        "account": "\(accountID)", "removed": "\(result.removed)", "containers": "\(result.containers)", "skipped": "\(result.failed)",
                    ])
                }
                if result.extentsRemoved > 0 || result.extentsSkipped > 0 {
                    logger.info("orphaned extents collected", metadata: [
                        "account": "\(accountID)", "removed": "\(result.extentsRemoved)", "unjudged": "\(result.extentsSkipped)",
                    ])
                }
            } catch {
                logger.warning("block collection failed for an account; the next pass tries again", metadata: ["account": "\(accountID)", "error": "\(error)"])
            }
        }
        return removed
    }
}
