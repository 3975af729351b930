// Swift types of the re-encryption job (account.proto: Account/StartReencrypt,
// GetJob, CancelJob, RetireVersions; AccountData/ReencryptPlan and Reencrypt).

/// `ReencryptJob`: a server-side re-encryption job and its progress.
public struct ReencryptJob: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.ReencryptJob"
    public static let running = "running", completed = "completed", cancelled = "cancelled", failed = "failed"

    public var jobID = ""
    public var state = ""
    public var container = ""
    public var accountKeyVersion: UInt32 = 0
    public var containers: [String] = []
    public var containerIndex: UInt32 = 0
    public var pageToken = ""
    public var objectsDone: UInt64 = 0
    public var objectsTotal: UInt64 = 0
    public var bytesDone: UInt64 = 0
    public var bytesTotal: UInt64 = 0
    public var rewritten: UInt64 = 0
    public var raced: UInt64 = 0
    public var skipped: UInt64 = 0
    public var startedAtUnix: Int64 = 0
    public var updatedAtUnix: Int64 = 0
    public var finishedAtUnix: Int64 = 0
    public var runner = ""
    public var message = ""
    public var startedBy = ""
    public var etaSeconds: UInt64 = 0
    public var pageSize: UInt32 = 0
    /// Record kinds walked after the containers (`BlobReencryptRequest.recordKinds`), and how many are done.
    public var kinds: [String] = []
    public var kindIndex: UInt32 = 0
    public var recordsDone: UInt64 = 0
    public var recordsRewritten: UInt64 = 0
    public var recordBytes: UInt64 = 0
    public var recordsRaced: UInt64 = 0
    /// When the job's version became the one writes use; the walk waits until
    /// `walkFromUnix` (that plus the settle time) and begins (lists the
    /// containers) at `plannedAtUnix` (0: not yet).
    public var versionSinceUnix: Int64 = 0
    public var walkFromUnix: Int64 = 0
    public var plannedAtUnix: Int64 = 0

    public init() {}

    public init(wire: WireFields) throws {
        jobID = wire.string(1)
        state = wire.string(2)
        container = wire.string(3)
        accountKeyVersion = wire.uint32(4)
        containers = wire.strings(5)
        containerIndex = wire.uint32(6)
        pageToken = wire.string(7)
        objectsDone = wire.uint64(8)
        objectsTotal = wire.uint64(9)
        bytesDone = wire.uint64(10)
        bytesTotal = wire.uint64(11)
        rewritten = wire.uint64(12)
        raced = wire.uint64(13)
        skipped = wire.uint64(14)
        startedAtUnix = wire.int64(15)
        updatedAtUnix = wire.int64(16)
        finishedAtUnix = wire.int64(17)
        runner = wire.string(18)
        message = wire.string(19)
        startedBy = wire.string(20)
        etaSeconds = wire.uint64(21)
        pageSize = wire.uint32(22)
        kinds = wire.strings(23)
        kindIndex = wire.uint32(24)
        recordsDone = wire.uint64(25)
        recordsRewritten = wire.uint64(26)
        recordBytes = wire.uint64(27)
        recordsRaced = wire.uint64(28)
        versionSinceUnix = wire.int64(29)
        walkFromUnix = wire.int64(30)
        plannedAtUnix = wire.int64(31)
    }

    public var wire: WireFields {
        [1: .string(jobID), 2: .string(state), 3: .string(container), 4: .uint(accountKeyVersion), 5: .strings(containers),
         6: .uint(containerIndex), 7: .string(pageToken), 8: .uint(objectsDone), 9: .uint(objectsTotal), 10: .uint(bytesDone),
         11: .uint(bytesTotal), 12: .uint(rewritten), 13: .uint(raced), 14: .uint(skipped), 15: .int(startedAtUnix),
         16: .int(updatedAtUnix), 17: .int(finishedAtUnix), 18: .string(runner), 19: .string(message), 20: .string(startedBy),
         21: .uint(etaSeconds), 22: .uint(pageSize), 23: .strings(kinds), 24: .uint(kindIndex), 25: .uint(recordsDone),
         26: .uint(recordsRewritten), 27: .uint(recordBytes), 28: .uint(recordsRaced), 29: .int(versionSinceUnix), 30: .int(walkFromUnix),
         31: .int(plannedAtUnix)]
    }

    public var isRunning: Bool { state == Self.running }

    /// The record kinds the job walked to the end (all of `kinds` once it completed).
    public var coveredKinds: [String] { Array(kinds.prefix(Int(min(kindIndex, UInt32(kinds.count))))) }

    /// Seconds left at the rate so far (bytes when there are any, else objects); 0 when unknown or done.
    public func eta(now: Int64) -> UInt64 {
        let began = plannedAtUnix > 0 ? plannedAtUnix : startedAtUnix
        guard isRunning, now > began else { return 0 }
        let elapsed = Double(now - began)
        let (done, total) = bytesTotal > 0 ? (bytesDone, bytesTotal) : (objectsDone, objectsTotal)
        guard done > 0, total > done else { return 0 }
        return UInt64((elapsed / Double(done) * Double(total - done)).rounded(.up))
    }
}

/// `Account/StartReencrypt`.
public struct AccountReencryptRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.AccountReencryptRequest"
    public var accountID: String
    public var container: String
    public var pageSize: UInt32
    public init(accountID: String, container: String = "", pageSize: UInt32 = 0) {
        self.accountID = accountID
        self.container = container
        self.pageSize = pageSize
    }
    public init(wire: WireFields) throws { self.init(accountID: wire.string(1), container: wire.string(2), pageSize: wire.uint32(3)) }
    public var wire: WireFields { [1: .string(accountID), 2: .string(container), 3: .uint(pageSize)] }
}

/// `AccountData/ReencryptPlan`.
public struct AccountReencryptPlanRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.AccountReencryptPlanRequest"
    public var container: String
    public init(container: String = "") { self.container = container }
    public init(wire: WireFields) throws { self.init(container: wire.string(1)) }
    public var wire: WireFields { [1: .string(container)] }
}

public struct AccountReencryptPlan: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.AccountReencryptPlan"
    public var containers: [String]
    public var objects: UInt64
    public var bytes: UInt64
    public init(containers: [String] = [], objects: UInt64 = 0, bytes: UInt64 = 0) {
        self.containers = containers
        self.objects = objects
        self.bytes = bytes
    }
    public init(wire: WireFields) throws { self.init(containers: wire.strings(1), objects: wire.uint64(2), bytes: wire.uint64(3)) }
    public var wire: WireFields { [1: .strings(containers), 2: .uint(objects), 3: .uint(bytes)] }
}

/// `KeyVault/RecordAccountEvent` (vault.proto).
public struct RecordAccountEventRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.RecordAccountEventRequest"
    /// The events it takes (anything else is INVALID_ARGUMENT).
    public static let events: Set<String> = ["reencryptStarted", "reencryptCompleted", "reencryptCancelled", "reencryptFailed", "versionsRetired"]
    public static let maxDetail = 512
    public var key: KeyRef
    public var event: String
    public var detail: String
    public init(key: KeyRef, event: String, detail: String = "") { self.key = key; self.event = event; self.detail = detail }
    public init(wire: WireFields) throws {
        self.init(key: try wire.message(1) ?? KeyRef(provider: "", keyID: ""), event: wire.string(2), detail: wire.string(3))
    }
    public var wire: WireFields { [1: WireValue(key), 2: .string(event), 3: .string(detail)] }
}
