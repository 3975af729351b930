// Swift types of account deletion (account.proto: Account/Delete and
// Account/Recover, and the workers' AccountData service).

/// The life cycle of an account (`AccountInfo.state`).
public enum AccountState {
    /// Serving (also an empty state: records older than deletion).
    public static let active = "active"
    /// Deleted: every data call is refused; `Account/Recover` restores it until `purge_after_unix`.
    public static let deleted = "deleted"
    /// Its account key is destroyed: its data is gone for good; the id may be created again.
    public static let purged = "purged"
}

/// `Account/Delete`.
public struct AccountDeleteRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.AccountDeleteRequest"
    public var accountID: String
    /// Delete although the account holds data.
    public var force: Bool
    public init(accountID: String, force: Bool = false) { self.accountID = accountID; self.force = force }
    public init(wire: WireFields) throws { self.init(accountID: wire.string(1), force: wire.bool(2)) }
    public var wire: WireFields { [1: .string(accountID), 2: .bool(force)] }
}

/// What an account holds (`AccountData/Usage`) or what `AccountData/Erase` removed.
public struct AccountUsage: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.AccountUsage"
    public var containers: UInt32
    public var queues: UInt32
    public var tables: UInt32
    public var disks: UInt32
    public var shares: UInt32
    public var blobs: UInt64

    public init(containers: UInt32 = 0, queues: UInt32 = 0, tables: UInt32 = 0, disks: UInt32 = 0, shares: UInt32 = 0, blobs: UInt64 = 0) {
        self.containers = containers
        self.queues = queues
        self.tables = tables
        self.disks = disks
        self.shares = shares
        self.blobs = blobs
    }

    public init(wire: WireFields) throws {
        self.init(containers: wire.uint32(1), queues: wire.uint32(2), tables: wire.uint32(3), disks: wire.uint32(4),
                  shares: wire.uint32(5), blobs: wire.uint64(6))
    }

    public var wire: WireFields {
        [1: .uint(UInt64(containers)), 2: .uint(UInt64(queues)), 3: .uint(UInt64(tables)), 4: .uint(UInt64(disks)),
         5: .uint(UInt64(shares)), 6: .uint(blobs)]
    }

    /// Nothing at all.
    public var isEmpty: Bool { containers == 0 && queues == 0 && tables == 0 && disks == 0 && shares == 0 && blobs == 0 }

    /// "2 containers, 1 queue": the kinds it holds, for messages.
    public var summary: String {
        func count(_ n: UInt64, _ noun: String) -> String? { n == 0 ? nil : "\(n) \(noun)\(n == 1 ? "" : "s")" }
        return [count(UInt64(containers), "container"), count(UInt64(queues), "queue"), count(UInt64(tables), "table"),
                count(UInt64(disks), "disk"), count(UInt64(shares), "share")].compactMap { $0 }.joined(separator: ", ")
    }
}

/// `AccountData/CollectBlocks`: staged blocks no block list names, older than the retention.
public struct CollectBlocksRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.CollectBlocksRequest"
    public var retentionSeconds: UInt32
    public init(retentionSeconds: UInt32) { self.retentionSeconds = retentionSeconds }
    public init(wire: WireFields) throws { self.init(retentionSeconds: wire.uint32(1)) }
    public var wire: WireFields { [1: .uint(UInt64(retentionSeconds))] }
}

public struct CollectBlocksResponse: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.CollectBlocksResponse"
    public var containers: UInt32
    public var removed: UInt64
    public var failed: UInt32
    /// Orphaned extents of the account's disks and files deleted, and left unjudged.
    public var extentsRemoved: UInt64
    public var extentsSkipped: UInt32
    public init(containers: UInt32 = 0, removed: UInt64 = 0, failed: UInt32 = 0, extentsRemoved: UInt64 = 0, extentsSkipped: UInt32 = 0) {
        self.containers = containers
        self.removed = removed
        self.failed = failed
        self.extentsRemoved = extentsRemoved
        self.extentsSkipped = extentsSkipped
    }
    public init(wire: WireFields) throws {
        self.init(containers: wire.uint32(1), removed: wire.uint64(2), failed: wire.uint32(3),
                  extentsRemoved: wire.uint64(4), extentsSkipped: wire.uint32(5))
    }
    public var wire: WireFields {
        [1: .uint(UInt64(containers)), 2: .uint(removed), 3: .uint(UInt64(failed)), 4: .uint(extentsRemoved), 5: .uint(UInt64(extentsSkipped))]
    }
}

/// The methods of `service AccountData` (account.proto), served by the
/// crypto workers for the front door alone (the `service` role).
public enum AccountDataMethod {
    public static let service = "atrest.v1.AccountData"
    /// What every method name starts with (the front door routes on it).
    public static let prefix = service + "/"
    public static let usage = RPCMethod<EmptyMessage, AccountUsage>(service, "Usage")
    public static let erase = RPCMethod<EmptyMessage, AccountUsage>(service, "Erase")
    /// The re-encryption job's plan (containers, blob count) and pages.
    public static let reencryptPlan = RPCMethod<AccountReencryptPlanRequest, AccountReencryptPlan>(service, "ReencryptPlan")
    public static let reencrypt = RPCMethod<BlobReencryptRequest, BlobReencryptResponse>(service, "Reencrypt")
    /// The account's name key wrapped by its KEK, as a names-only entry (retiring the version it comes from).
    public static let wrapNameKey = RPCMethod<EmptyMessage, AccountKeyEntry>(service, "WrapNameKey")

    /// Uncommitted staged blocks removed (the front door's block collector).
    public static let collectBlocks = RPCMethod<CollectBlocksRequest, CollectBlocksResponse>(service, "CollectBlocks")

    public static let all: [RPCMethodInfo] = [usage.info, erase.info, reencryptPlan.info, reencrypt.info, wrapNameKey.info, collectBlocks.info]
}
