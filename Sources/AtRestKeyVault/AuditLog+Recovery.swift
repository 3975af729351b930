import AtRestCrypto
import AtRestLocalState
import AtRestWire
import Glibc

/// Recovery of an audit log that does not verify (`atrest-keyvault recover-audit`).
extension AuditLog {
    /// What `recordGap` did.
    struct GapRecord {
        var entry: AuditEntry
        /// Where the lines that did not verify were kept (nil: none).
        var damagedCopy: String?
    }

    /// Records why the log does not verify as an `AuditGap` entry and
    /// re-anchors, so the log verifies again and shows the gap. Lines after
    /// the last one that verifies are moved to `audit.log.damaged-<time>`
    /// first (the evidence is kept, not deleted). The gap entry takes the
    /// sequence number after the highest one the anchor or any line names,
    /// so no number is used twice. Returns nil when the log verifies.
    /// The log must be opened for recovery (`check: false`): that holds an
    /// exclusive lock, so no vault appends meanwhile.
    func recordGap(by actor: String, reason: String, time: Int64) throws(VaultError) -> GapRecord? {
        let bytes = try vaulted { () throws(LocalStateError) in try LocalFile.read(path) } ?? []
        let scan = try self.scan()
        if scan.intact(newVault: true) && scan.completeBytes == bytes.count { return nil }
        var damagedCopy: String?
        if scan.verifiedBytes < bytes.count {
            let copy = "\(path).damaged-\(time)"
            try vaulted { () throws(LocalStateError) in try LocalFile.writeAtomically(bytes, to: copy) }
            try truncate(to: scan.verifiedBytes)
            damagedCopy = copy
        }
        var expected = "no head anchor"
        var skipTo = max(scan.lastSeq, scan.highestSeq)
        switch scan.head {
        case .missing: expected = "head anchor '\(headPath)' missing"
        case .malformed: expected = "head anchor '\(headPath)' malformed or edited"
        case .anchored(let seq, _):
            expected = "head anchor at entry \(seq)"
            skipTo = max(skipTo, seq)
        }
        var found = "entries 1-\(scan.lastSeq) verify (\(scan.verified) lines)"
        if scan.firstBadLine != 0 { found += "; \(scan.lineProblem); lines \(scan.firstBadLine)-\(scan.lines) moved to '\(damagedCopy ?? "")'" }
        let missing = skipTo > scan.lastSeq ? "sequence numbers \(AuditScan.range(scan.lastSeq + 1, skipTo)) not in the chain" : "no entry known to be missing"
        let detail = "expected: \(expected); found: \(found); missing: \(missing); "
            + "problem: \(scan.problem(logPath: path, headPath: headPath, newVault: false)); recorded by \(actor)"
            + (reason.isEmpty ? "" : "; reason: \(reason)")
        let entry = try appendGap(AuditEntry(time: time, callID: [], principalID: actor, tenantID: "", operation: AuditEntry.gapOperation,
                                             key: KeyRef(provider: "", keyID: ""), result: "gap", detail: detail),
                                  after: skipTo, chainedTo: scan.lastHash)
        return GapRecord(entry: entry, damagedCopy: damagedCopy)
    }

    /// Cuts the log to its first `length` bytes, durably.
    private func truncate(to length: Int) throws(VaultError) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw VaultError(.io, LocalFile.ioError("opening audit log", path).message) }
        defer { close(fd) }
        guard ftruncate(fd, off_t(length)) == 0, fsync(fd) == 0 else {
            throw VaultError(.io, LocalFile.ioError("truncating audit log", path).message)
        }
    }
}
