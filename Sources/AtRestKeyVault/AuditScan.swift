import AtRestCrypto
import AtRestWire

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
            let line = Line(log[start..<end])
            if let seq = line?.seq { highestSeq = max(highestSeq, seq) }
            if firstBadLine == 0 {
                if let problem = try check(line, key: key) {
                    firstBadLine = lines
                    lineProblem = "line \(lines): \(problem)"
                } else if let line {
                    verified = lines
                    verifiedBytes = end + 1
                    if line.isGap, let entry = line.entry { gaps.append(entry) }
                    if case .anchored(let seq, _) = head, seq == line.seq { anchoredHash = lastHash }
                }
            }
            start = end + 1
        }
        if case .anchored(_, let hash) = head, let anchoredHash { headReached = ConstantTime.equals(anchoredHash, hash) }
    }

    /// One line's bytes split where the chain needs them, without building
    /// an `AuditEntry` (start-up reads every line; only gap entries are parsed whole).
    struct Line {
        var content: ArraySlice<UInt8>
        var seq: UInt64
        var isGap: Bool
        var stored: [UInt8]

        init?(_ bytes: ArraySlice<UInt8>) {
            var tabs: [Int] = []
            for index in bytes.indices where bytes[index] == 0x09 { tabs.append(index) }
            // 11 or 12 fields, then the hash.
            guard tabs.count == 11 || tabs.count == 12, let last = tabs.last,
                  let seq = UInt64(String(decoding: bytes[bytes.startIndex..<tabs[0]], as: UTF8.self)),
                  let stored = Hex.decode(String(decoding: bytes[(last + 1)...], as: UTF8.self)) else { return nil }
            content = bytes[bytes.startIndex..<last]
            self.seq = seq
            isGap = bytes[(tabs[4] + 1)..<tabs[5]].elementsEqual(AuditEntry.gapOperation.utf8)
            self.stored = stored
        }

        var entry: AuditEntry? { AuditEntry(line: String(decoding: content, as: UTF8.self)[...]) }
    }

    /// Checks one line against the chain so far; nil when it verifies (and advances the chain).
    private mutating func check(_ line: Line?, key: SecretBytes) throws(VaultError) -> String? {
        guard let line, !line.isGap || line.entry != nil else { return "malformed entry" }
        let expected = try VaultCrypto.hmacSHA256(key: key, lastHash, Array(line.content))
        guard ConstantTime.equals(expected, line.stored) else {
            return "hash does not match (the entry was edited, or an entry before it was removed, inserted or reordered)"
        }
        // Only a recorded gap may skip sequence numbers (the entries it accounts for).
        let gapOK = line.isGap && line.seq > lastSeq
        guard line.seq == lastSeq + 1 || gapOK else { return "sequence number \(line.seq) where \(lastSeq + 1) was expected" }
        lastSeq = line.seq
        lastHash = line.stored
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
