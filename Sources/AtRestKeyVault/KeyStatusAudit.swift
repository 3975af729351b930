import AtRestWire
import Synchronization

/// Decides which `KeyStatus` checks get an audit entry of their own, and
/// counts the rest into summary entries.
///
/// Why: every crypto worker re-checks every cached account key about every
/// 5 s, so one entry per check made status checks the bulk of the audit log
/// (12 entries a minute per account per worker) and buried the key uses an
/// auditor looks for. A status check is not a key use: no key material
/// moves. What the log must still show is who could use which key and when
/// that changed, and that every check is accounted for. So, per caller
/// (principal, tenant) and key:
/// - **own entry** (`KeyStatus`): the first check since the vault started,
///   a check whose answer denies unwrap (the caller must stop using the key),
///   and a check whose answer differs from the last one recorded (state,
///   permissions, reason, current version). A check that throws is audited
///   by the caller of this type, as before.
/// - **counted**: an allowed check with the same answer. The count goes into
///   one `KeyStatusSummary` entry ("N unchanged checks from T1 to T2") when
///   `interval` seconds have passed since the pair's last entry, just before
///   an entry with a different answer, and on `drain` (vault close).
/// `interval` 0 audits every check on its own (the old behaviour).
///
/// Decisions and writes happen under one lock, and the state changes only
/// after the write succeeded, so the log never misses a check this type
/// counted as written. Memory: one record per caller and key that was once
/// allowed to unwrap, so bounded by the unwrap grants ever made.
final class KeyStatusAudit: Sendable {
    struct Pair: Hashable, Sendable {
        var principalID: String
        var tenantID: String
        var key: KeyRef
    }

    /// Allowed, unchanged checks of one pair not yet written.
    struct Summary: Equatable, Sendable {
        var pair: Pair
        var answer: KeyStatus
        var count: UInt64
        var first: Int64
        var last: Int64
    }

    /// What to write for one check: a summary of earlier checks first, then
    /// (when `reason` is set) an entry for this check.
    struct Decision: Equatable, Sendable {
        var summary: Summary?
        /// "first", "changed", "denied" or "every check"; nil: only counted.
        var reason: String?
    }

    private struct Record {
        var answer: KeyStatus
        var lastEntry: Int64
        var pending: UInt64 = 0
        var firstPending: Int64 = 0
        var lastPending: Int64 = 0
    }

    private struct State {
        var records: [Pair: Record] = [:]
        var counts = KeyStatusAuditCounts()
    }

    let interval: Int64
    private let state = Mutex(State())

    init(interval: Int64) { self.interval = max(0, interval) }

    var counts: KeyStatusAuditCounts { state.withLock { $0.counts } }

    /// Decides for one successful check at `now`, calls `write` with the
    /// decision (unless there is nothing to write), and records the outcome
    /// only if `write` succeeded.
    func observe(_ pair: Pair, _ answer: KeyStatus, at now: Int64, write: (Decision) throws(VaultError) -> Void) throws(VaultError) {
        try state.withLock { (state: inout State) throws(VaultError) in
            let previous = state.records[pair]
            var decision = Decision()
            var next: Record?
            if interval == 0 {
                decision.reason = "every check"
            } else if !answer.unwrapAllowed || previous?.answer != answer {
                if let previous, previous.pending > 0 {
                    decision.summary = Summary(pair: pair, answer: previous.answer, count: previous.pending,
                                               first: previous.firstPending, last: previous.lastPending)
                }
                decision.reason = !answer.unwrapAllowed ? "denied" : previous == nil ? "first" : "changed"
                // A denial is kept only for a pair already known, so the next
                // allowed answer reads as "changed"; unknown callers add nothing.
                next = answer.unwrapAllowed || previous != nil ? Record(answer: answer, lastEntry: now) : nil
            } else if var record = previous {
                if record.pending == 0 { record.firstPending = now }
                record.pending += 1
                record.lastPending = now
                if now - record.lastEntry >= interval {
                    decision.summary = Summary(pair: pair, answer: answer, count: record.pending, first: record.firstPending, last: now)
                    record.pending = 0
                    record.lastEntry = now
                }
                next = record
            }
            if decision.summary != nil || decision.reason != nil { try write(decision) }
            if interval > 0 { state.records[pair] = next }
            if decision.reason != nil { state.counts.audited += 1 } else { state.counts.counted += 1 }
            if decision.summary != nil { state.counts.summaries += 1 }
        }
    }

    /// Writes a summary for every pair with pending checks (vault close),
    /// through `write`; a pair whose write fails keeps its count.
    func drain(at now: Int64, write: (Summary) throws(VaultError) -> Void) throws(VaultError) {
        try state.withLock { (state: inout State) throws(VaultError) in
            for (pair, record) in state.records.sorted(by: { ($0.key.key.description, $0.key.principalID) < ($1.key.key.description, $1.key.principalID) }) where record.pending > 0 {
                try write(Summary(pair: pair, answer: record.answer, count: record.pending, first: record.firstPending, last: record.lastPending))
                state.records[pair]?.pending = 0
                state.records[pair]?.lastEntry = now
                state.counts.summaries += 1
            }
        }
    }
}

/// How `KeyStatus` checks reached the audit log (the vault's status output).
public struct KeyStatusAuditCounts: Equatable, Sendable {
    /// Checks with an entry of their own.
    public var audited: UInt64 = 0
    /// Allowed, unchanged checks counted into summaries (written or pending).
    public var counted: UInt64 = 0
    /// `KeyStatusSummary` entries written.
    public var summaries: UInt64 = 0

    public init(audited: UInt64 = 0, counted: UInt64 = 0, summaries: UInt64 = 0) {
        self.audited = audited
        self.counted = counted
        self.summaries = summaries
    }
}

extension KeyStatus {
    /// The answer in an audit entry's detail (no key material in it).
    var auditText: String {
        var text = "state=\(state) unwrap=\(unwrapAllowed ? "allowed" : "denied") wrap=\(wrapAllowed ? "allowed" : "denied") version=\(currentVersion)"
        if !reason.isEmpty { text += ": " + reason }
        return text
    }
}
