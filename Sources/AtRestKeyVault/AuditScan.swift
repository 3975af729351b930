import AtRestCrypto

/// One pass over `audit.log` and `audit.log.head`: how far the chain
/// verifies and whether it reaches the anchored head. Used at start (the
/// vault refuses an incomplete log), by `VerifyAuditLog` and by
/// `atrest-keyvault recover-audit`.
struct AuditScan {
    enum Head: Equatable {
        case missing
        case malformed
        case anchored(seq: UInt64, hash: [UInt8])
    }

    static let zeroHash = [UInt8](repeating: 0, count: 32)

    /// Complete lines in the log.
    var lines: UInt64 = 0
    /// Lines that verify, in a row from the first.
    var verified: UInt64 = 0
    /// Bytes of those lines.
    var verifiedBytes = 0
    /// Bytes up to the end of the last complete line (a torn last line is not counted).
    var completeBytes = 0
    /// Seq and hash of the last line that verifies (0 and zeros for none).
    var lastSeq: UInt64 = 0
    var lastHash = zeroHash
    /// The first line that does not verify (0: none) and why.
    var firstBadLine: UInt64 = 0
    var lineProblem = ""
    /// The highest seq in any line that parses, verified or not.
    var highestSeq: UInt64 = 0
    var head = Head.missing
    /// The verified part of the chain holds the anchored entry.
    var headReached = false
    /// `AuditGap` entries in the verified part.
    var gaps: [AuditEntry] = []

    /// Verifies `log` (the file's bytes) against `head` (the anchor file's bytes, nil when missing).
    init(log: [UInt8], head headBytes: [UInt8]?, key: SecretBytes) throws(VaultError) {
        head = try Self.parseHead(headBytes, key: key)
        completeBytes = (log.lastIndex(of: 0x0a)).map { $0 + 1 } ?? 0
        var anchoredHash: [UInt8]?
        if case .anchored(0, _) = head { anchoredHash = Self.zeroHash }
        var start = 0
        while start < completeBytes {
            let end = log[start...].firstIndex(of: 0x0a)!
            lines += 1
            let text = String(decoding: log[start..<end], as: UTF8.self)
            let tab = text.lastIndex(of: "\t")
            let entry = tab.flatMap { AuditEntry(line: text[..<$0]) }
            if let entry { highestSeq = max(highestSeq, entry.seq) }
            if firstBadLine == 0 {
                if let problem = try check(text, tab, entry, key: key) {
                    firstBadLine = lines
                    lineProblem = "line \(lines): \(problem)"
                } else if let entry {
                    verified = lines
                    verifiedBytes = end + 1
                    if entry.operation == AuditEntry.gapOperation { gaps.append(entry) }
                    if case .anchored(let seq, _) = head, seq == entry.seq { anchoredHash = lastHash }
                }
            }
            start = end + 1
        }
        if case .anchored(_, let hash) = head, let anchoredHash { headReached = ConstantTime.equals(anchoredHash, hash) }
    }

    /// Checks one line against the chain so far; nil when it verifies (and advances the chain).
    private mutating func check(_ text: String, _ tab: String.Index?, _ entry: AuditEntry?, key: SecretBytes) throws(VaultError) -> String? {
        guard let tab, let entry, let stored = Hex.decode(String(text[text.index(after: tab)...])) else { return "malformed entry" }
        let expected = try VaultCrypto.hmacSHA256(key: key, lastHash, Array(text[..<tab].utf8))
        guard ConstantTime.equals(expected, stored) else {
            return "hash does not match (the entry was edited, or an entry before it was removed, inserted or reordered)"
        }
        // Only a recorded gap may skip sequence numbers (the entries it accounts for).
        let gapOK = entry.operation == AuditEntry.gapOperation && entry.seq > lastSeq
        guard entry.seq == lastSeq + 1 || gapOK else { return "sequence number \(entry.seq) where \(lastSeq + 1) was expected" }
        lastSeq = entry.seq
        lastHash = stored
        return nil
    }

    static func parseHead(_ bytes: [UInt8]?, key: SecretBytes) throws(VaultError) -> Head {
        guard let bytes else { return .missing }
        let fields = String(decoding: bytes, as: UTF8.self).split(separator: "\n").first?.split(separator: "\t") ?? []
        guard fields.count == 3, let seq = UInt64(fields[0]), let hash = Hex.decode(String(fields[1])), hash.count == 32,
              let mac = Hex.decode(String(fields[2])),
              ConstantTime.equals(mac, try VaultCrypto.hmacSHA256(key: key, Array("anchor\t\(fields[0])\t\(fields[1])".utf8))) else {
            return .malformed
        }
        return .anchored(seq: seq, hash: hash)
    }

    /// The log verifies and reaches its anchor; with no anchor, only an empty log of a new vault does.
    func intact(newVault: Bool) -> Bool {
        guard firstBadLine == 0 else { return false }
        switch head {
        case .missing: return lines == 0 && newVault
        case .malformed: return false
        case .anchored: return headReached
        }
    }

    /// What is wrong, naming the missing sequence numbers; "" when intact.
    func problem(logPath: String, headPath: String, newVault: Bool) -> String {
        var parts: [String] = []
        if firstBadLine != 0 {
            parts.append("\(lineProblem); entries 1-\(lastSeq) verify, lines \(firstBadLine)-\(lines) do not")
        }
        switch head {
        case .missing:
            if lines > 0 || !newVault {
                parts.append("the head anchor '\(headPath)' is missing (it is written at the vault's first start), so entries may have been cut off the end of '\(logPath)' after entry \(lastSeq)")
            }
        case .malformed:
            parts.append("the head anchor '\(headPath)' is malformed or was edited")
        case .anchored(let seq, _):
            if headReached { break }
            if seq > lastSeq {
                let count = seq - lastSeq
                parts.append("the head anchor '\(headPath)' records entry \(seq) but '\(logPath)' verifies only up to entry \(lastSeq): "
                             + "\(count) \(count == 1 ? "entry" : "entries") (\(Self.range(lastSeq + 1, seq))) are missing"
                             + (firstBadLine == 0 ? " (cut off the end)" : ""))
            } else {
                parts.append("entry \(seq) in '\(logPath)' is not the entry the head anchor '\(headPath)' recorded (the log was replaced)")
            }
        }
        return parts.joined(separator: "; ")
    }

    /// The verification report for `VerifyAuditLog`.
    func verification(logPath: String, headPath: String, newVault: Bool = false) -> AuditVerification {
        let intact = intact(newVault: newVault)
        return AuditVerification(intact: intact, entries: intact ? lines : verified,
                                 firstBadLine: intact ? 0 : (firstBadLine != 0 ? firstBadLine : verified + 1),
                                 problem: problem(logPath: logPath, headPath: headPath, newVault: newVault), gaps: gaps)
    }

    static func range(_ from: UInt64, _ to: UInt64) -> String { from == to ? "seq \(from)" : "seq \(from)-\(to)" }
}
