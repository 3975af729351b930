import AtRestWire
import Foundation

/// `KeyStatus`: the check workers repeat on a timer for every cached account
/// key, and how it is audited (`KeyStatusAudit`: changes and denials one by
/// one, unchanged allowed answers as counted summaries).
extension KeyVault {
    /// What a worker re-checks on a timer for a cached account key: may this
    /// caller still unwrap (and wrap) with `key`? Never throws for a state the
    /// answer describes (disabled, deleted, no grant, moved account); only
    /// for an unknown key or provider. A check that throws, denies unwrap or
    /// changes the answer gets its own audit entry; the others are counted
    /// into `KeyStatusSummary` entries.
    public func keyStatus(_ key: KeyRef, caller: VaultCaller, callID: [UInt8] = []) throws(VaultError) -> KeyStatus {
        let key = qualified(key, for: caller)
        let answer: KeyStatus
        do {
            answer = try keyStatusAnswer(key, caller: caller)
        } catch {
            _ = try? audit.append(entry(KeyVaultMethod.keyStatus.verb, key.unversioned, caller, callID, result: error.code.rawValue, detail: error.message))
            throw error
        }
        let pair = KeyStatusAudit.Pair(principalID: caller.principalID, tenantID: caller.tenantID, key: key.unversioned)
        try statusAudit.observe(pair, answer, at: config.clock()) { decision throws(VaultError) in
            if let summary = decision.summary { try audit.append(summaryEntry(summary)) }
            if let reason = decision.reason {
                var ref = key.unversioned
                ref.version = answer.currentVersion
                try audit.append(entry(KeyVaultMethod.keyStatus.verb, ref, caller, callID, result: "ok", detail: "\(reason): \(answer.auditText)"))
            }
        }
        return answer
    }

    /// Checks by how they reached the audit log (own entry, counted, summaries written).
    public var keyStatusAuditCounts: KeyStatusAuditCounts { statusAudit.counts }

    /// Writes the pending `KeyStatusSummary` entries (on close).
    func flushKeyStatusSummaries() throws(VaultError) {
        try statusAudit.drain(at: config.clock()) { summary throws(VaultError) in try audit.append(summaryEntry(summary)) }
    }

    private func summaryEntry(_ summary: KeyStatusAudit.Summary) -> AuditEntry {
        var ref = summary.pair.key
        ref.version = summary.answer.currentVersion
        return AuditEntry(time: config.clock(), callID: [], principalID: summary.pair.principalID, tenantID: summary.pair.tenantID,
                          operation: "KeyStatusSummary", key: ref, result: "ok",
                          detail: "\(summary.count) unchanged checks from \(summary.first) to \(summary.last): \(summary.answer.auditText)")
    }

    private func keyStatusAnswer(_ key: KeyRef, caller: VaultCaller) throws(VaultError) -> KeyStatus {
        try requireReach(caller, key)
        let info = try provider(key.provider).info(key.keyID)
        var reasons: [String] = []
        var usable = true
        switch info.state {
        case .enabled: break
        case .disabled: usable = false; reasons.append("key \(key.unversioned) is disabled; a key administrator can enable it")
        case .deleted: usable = false; reasons.append("key \(key.unversioned) is deleted; a key administrator can recover it")
        }
        var unwrap = usable
        var wrap = usable
        do throws(VaultError) { try requireGrant(caller, .unwrap, key) } catch { unwrap = false; reasons.append(error.message) }
        do throws(VaultError) { try requireGrant(caller, .wrap, key) } catch { wrap = false; if unwrap { reasons.append(error.message) } }
        if info.expiresAt > 0, config.clock() >= info.expiresAt {
            wrap = false
            reasons.append("key \(key.unversioned) expired at \(isoUTC(info.expiresAt)); it still unwraps but no longer wraps")
        }
        return KeyStatus(key: info.ref, state: info.state.rawValue, unwrapAllowed: unwrap, wrapAllowed: wrap,
                         reason: reasons.joined(separator: "; "), currentVersion: info.currentVersion)
    }
}

/// Unix seconds as ISO 8601 UTC, for messages people read.
func isoUTC(_ seconds: Int64) -> String { ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(seconds))) }
