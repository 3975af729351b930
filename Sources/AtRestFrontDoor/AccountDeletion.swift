import AtRestClient
import AtRestRuntime
import AtRestTokens
import AtRestWire
import Logging

/// Deleting, recovering and purging accounts (docs/DATA-PATH.md "Deleting an account").
///
/// - `delete`: refused (FAILED_PRECONDITION, naming what it holds) while a
///   worker finds containers, queues, tables, disks or shares in the account,
///   unless `force`. The record gets state `deleted`, `deleted_at_unix` and
///   `purge_after_unix` = now + `grace`; from then on admission refuses every
///   data call (`CallAuthorizer`), and the data stays as it is.
/// - `recover`: state back to `active` before `purge_after_unix`.
/// - `sweep` (every `sweepInterval`, on every front door): for each deleted
///   account past its grace, first asks a worker to erase its objects (best
///   effort, while the key still opens them), then removes the wrapped account
///   key and every `keys` entry from the record (state `purged`) with one
///   conditional registry write — the cryptographic erase: of several front
///   doors sweeping at once exactly one makes that change — and then, in the
///   vault, unregisters the references and deletes the account's managed key
///   (the vault audits that; workers drop the key on its `deleted` event).
///   That vault step runs again on every pass until it is done
///   (`managedKeyID` is cleared once the key is deleted).
public final class AccountDeletion: Sendable {
    let manager: AccountManager
    let grace: Duration
    let usage: @Sendable (String) async throws -> AccountUsage
    let erase: @Sendable (String) async throws -> AccountUsage

    public init(manager: AccountManager, grace: Duration,
                usage: @escaping @Sendable (String) async throws -> AccountUsage,
                erase: @escaping @Sendable (String) async throws -> AccountUsage) {
        self.manager = manager
        self.grace = grace
        self.usage = usage
        self.erase = erase
    }

    var registry: AccountRegistry { manager.registry }
    var logger: Logger { manager.logger }
    var graceSeconds: Int64 { max(0, grace.components.seconds) }

    /// How often the sweeper looks for accounts to purge: the grace, at least 1 s, at most a minute.
    public var sweepInterval: Duration { .seconds(min(60, max(1, graceSeconds))) }

    /// What a data call on a deleted or purged account gets (nil: active).
    static func refusal(_ info: AccountInfo) -> RPCStatus? {
        switch info.state {
        case AccountState.deleted:
            return RPCStatus(.failedPrecondition,
                             "account '\(info.accountID)' is deleted; it is purged at \(ISO8601.format(unixSeconds: info.purgeAfterUnix)); "
                             + "`atrest account recover \(info.accountID)` restores it until then",
                             details: ["reason": "accountDeleted"])
        case AccountState.purged:
            return RPCStatus(.failedPrecondition,
                             "account '\(info.accountID)' was deleted and purged at \(ISO8601.format(unixSeconds: info.purgeAfterUnix)): its account key is destroyed and its data is gone",
                             details: ["reason": "accountPurged"])
        default:
            return nil
        }
    }

    public func delete(_ accountID: String, force: Bool) async throws -> AccountInfo {
        guard let record = try await registry.lookup(accountID) else { throw RPCStatus(.notFound, "account '\(accountID)' does not exist") }
        if let refusal = Self.refusal(record.info) { throw refusal }
        if !force {
            let held: AccountUsage
            do {
                held = try await usage(accountID)
            } catch let status as RPCStatus {
                throw RPCStatus(status.code == .unavailable ? .unavailable : .failedPrecondition,
                                "cannot tell whether account '\(accountID)' holds data (\(status.message)); retry, or delete it with force",
                                retryAfterMs: status.retryAfterMs)
            }
            guard held.isEmpty else {
                throw RPCStatus(.failedPrecondition,
                                "account '\(accountID)' holds data (\(held.summary)); delete them first, or delete the account with force "
                                + "(`atrest account delete \(accountID) --force`: its data is destroyed after the grace period)",
                                details: ["reason": "accountNotEmpty"])
            }
        }
        let now = manager.now()
        let purgeAt = now + graceSeconds
        let updated = try await registry.update(accountID) { current in
            guard var current else { throw RPCStatus(.notFound, "account '\(accountID)' does not exist") }
            if let refusal = Self.refusal(current.info) { throw refusal }
            current.info.state = AccountState.deleted
            current.info.deletedAtUnix = now
            current.info.purgeAfterUnix = purgeAt
            return current
        }
        logger.notice("account deleted", metadata: ["account": "\(accountID)", "force": "\(force)",
                                                    "purgeAt": "\(ISO8601.format(unixSeconds: purgeAt))"])
        return updated!.info
    }

    public func recover(_ accountID: String) async throws -> AccountInfo {
        let updated = try await registry.update(accountID) { current in
            guard var current else { throw RPCStatus(.notFound, "account '\(accountID)' does not exist") }
            switch current.info.state {
            case AccountState.deleted:
                current.info.state = AccountState.active
                current.info.deletedAtUnix = 0
                current.info.purgeAfterUnix = 0
                return current
            case AccountState.purged:
                throw RPCStatus(.failedPrecondition, "account '\(accountID)' was purged at \(ISO8601.format(unixSeconds: current.info.purgeAfterUnix)); it cannot be recovered")
            default:
                throw RPCStatus(.failedPrecondition, "account '\(accountID)' is not deleted")
            }
        }
        logger.notice("account recovered", metadata: ["account": "\(accountID)"])
        return updated!.info
    }

    /// One sweeper pass: purges every deleted account past its grace and
    /// finishes the vault step of purged ones.
    public func sweep() async {
        let records: [AccountRecord]
        do { records = try await registry.all() } catch {
            logger.warning("account purge pass could not list the accounts", metadata: ["error": "\(error)"])
            return
        }
        let now = manager.now()
        for record in records {
            let info = record.info
            if info.state == AccountState.deleted, info.purgeAfterUnix <= now {
                await purge(record, now: now)
            } else if info.state == AccountState.purged, !record.managedKeyID.isEmpty || !record.registered.provider.isEmpty {
                await releaseVaultKeys(record)
            }
        }
    }

    /// Erases the objects, then the account key (see the type's comment).
    func purge(_ record: AccountRecord, now: Int64) async {
        let accountID = record.info.accountID
        do {
            let erased = try await erase(accountID)
            logger.notice("purge: objects erased", metadata: ["account": "\(accountID)", "erased": "\(erased.summary)", "blobs": "\(erased.blobs)"])
        } catch {
            logger.warning("purge: the objects could not be erased (left undecryptable)", metadata: ["account": "\(accountID)", "error": "\(error)"])
        }
        // The infrastructure layer's managed key is the account's alone; its wrapped AEK_infra goes with `keys` below.
        await releaseInfrastructureKey(record)
        let purged: AccountRecord?
        // Whether this pass made the change (another front door may have purged it meanwhile: then it does the rest).
        var made = false
        do {
            purged = try await registry.update(accountID) { current in
                made = false
                guard var current, current.info.state == AccountState.deleted, current.info.purgeAfterUnix <= now else { return current }
                current.info.state = AccountState.purged
                current.wrappedKey = []
                current.keys = []
                made = true
                return current
            }
        } catch {
            logger.warning("purge: the registry write failed; the next pass retries", metadata: ["account": "\(accountID)", "error": "\(error)"])
            return
        }
        guard made, let purged else { return }
        logger.notice("account purged: its account key is destroyed", metadata: ["account": "\(accountID)"])
        await releaseVaultKeys(purged)
    }

    /// Unregisters the purged account's key references and deletes its
    /// managed key in the vault; clears them from the record once done.
    func releaseVaultKeys(_ record: AccountRecord) async {
        let accountID = record.info.accountID
        await manager.unregister(record.registered)
        if !record.managedKeyID.isEmpty {
            guard await deleteManagedKey(record.managedKeyID, of: accountID, "managed key") else { return }
        }
        do {
            try await registry.update(accountID) { current in
                guard var current, current.info.state == AccountState.purged else { return current }
                current.managedKeyID = ""
                current.registered = KeyRef(provider: "", keyID: "")
                return current
            }
        } catch {
            logger.warning("purge: the registry write failed; the next pass retries", metadata: ["account": "\(accountID)", "error": "\(error)"])
        }
    }

    /// Drops the reference of the purged account's infrastructure key (a
    /// managed key created for this account alone, never shared) and deletes
    /// the key. Runs before the record's `keys` are cleared; a failure is
    /// logged and leaves the key in the vault, its wrapped AEK_infra destroyed
    /// with the record's `keys` either way.
    func releaseInfrastructureKey(_ record: AccountRecord) async {
        guard let entry = record.infrastructureKey, entry.provider == AccountManager.managedProvider, !entry.keyID.isEmpty else { return }
        await manager.unregister(KeyRef(provider: entry.provider, keyID: entry.keyID, version: entry.keyVersion))
        _ = await deleteManagedKey(entry.keyID, of: record.info.accountID, "infrastructure key")
    }

    /// Deletes a managed key of a purged account in the vault; true when it
    /// is gone (deleted now or already).
    func deleteManagedKey(_ keyID: String, of accountID: String, _ what: String) async -> Bool {
        let key = KeyRef(provider: AccountManager.managedProvider, keyID: keyID)
        do {
            _ = try await manager.serviceVaultClient().change(.delete, key)
        } catch let status as RPCStatus where status.code == .notFound || status.code == .failedPrecondition {
            // Deleted already (another front door, or an earlier pass that stopped before the registry write).
            return true
        } catch {
            logger.warning("purge: the \(what) could not be deleted; the next pass retries",
                           metadata: ["account": "\(accountID)", "key": "\(key)", "error": "\(error)"])
            return false
        }
        logger.notice("purge: \(what) deleted in the vault", metadata: ["account": "\(accountID)", "key": "\(key)"])
        return true
    }
}
