import AtRestCrypto
import AtRestLocalState
import AtRestWire
import Glibc
import Synchronization

/// Append-only, hash-chained audit log.
///
/// Each line is an `AuditEntry` (tab-separated) followed by
/// `hash_i = HMAC-SHA256(auditKey, hash_{i-1} ‖ line_i)`, `hash_0` = 32 zero
/// bytes, and `auditKey` = HMAC-SHA256(rootKey, "atrest/v1/audit-chain"). An
/// edited, removed, inserted or reordered line breaks the chain at that line;
/// keying the chain means someone with write access to the file but not the
/// root key cannot recompute it. Account and tenant names are written as
/// keyed hashes (`AuditNames`).
///
/// Cutting entries off the end leaves a valid chain, so the head is anchored:
/// `audit.log.head` holds the last anchored seq and hash with their MAC and is
/// rewritten (after an fdatasync of the log) at the first start, after every
/// key-management operation, every `anchorEvery` entries and on close.
/// Opening the log verifies the whole chain against the anchor and refuses
/// (`.auditIncomplete`) a log that does not verify or does not reach the
/// anchor, and a missing anchor unless the log is empty and the vault new;
/// `recordGap` (`atrest-keyvault recover-audit`) is the way out. Entries after
/// the last anchor are covered by the chain only. Lines are appended with one
/// write(2) each and not fsynced one by one (a process crash loses nothing;
/// an OS crash can lose the un-anchored tail).
final class AuditLog: Sendable {
    let path: String
    let headPath: String
    let names: AuditNames
    private let key: SecretBytes
    private let anchorEvery: Int
    private let newVault: Bool
    private let state: Mutex<Chain>

    struct Chain {
        var fd: Int32
        var seq: UInt64
        var hash: [UInt8]
        var sinceAnchor: Int
    }

    /// Opens the log for appending. `newVault`: nothing else of the vault
    /// exists yet, so an empty log without an anchor is a first start.
    /// `check` false (recovery only) skips the start-up verification.
    init(path: String, rootKey: SecretBytes, anchorEvery: Int, names: AuditNames, newVault: Bool, check: Bool = true) throws(VaultError) {
        self.path = path
        let headPath = path + ".head"
        self.headPath = headPath
        self.names = names
        self.newVault = newVault
        let key = SecretBytes(try VaultCrypto.hmacSHA256(key: rootKey, Array("atrest/v1/audit-chain".utf8)))
        self.key = key
        self.anchorEvery = max(1, anchorEvery)
        let bytes = try vaulted { () throws(LocalStateError) in try LocalFile.read(path) } ?? []
        let scan = try AuditScan(log: bytes, head: try vaulted { () throws(LocalStateError) in try LocalFile.read(headPath) }, key: key)
        if check, !scan.intact(newVault: newVault) {
            let directory = LocalFile.parentDirectory(of: path)
            throw VaultError(.auditIncomplete, "the audit log does not verify: \(scan.problem(logPath: path, headPath: headPath, newVault: newVault)). "
                + "The vault does not start with an incomplete or altered audit log. Restore '\(path)' and '\(headPath)' together from a backup, "
                + "or record the gap in the log and re-anchor it with: atrest-keyvault recover-audit --data-dir \(directory) "
                + "(docs/KEY-PROVIDERS.md, \"Audit log\")")
        }
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw VaultError(.io, LocalFile.ioError("opening audit log", path).message) }
        // Serving vaults share the log; the recovery needs it alone.
        guard flock(fd, (check ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0 else {
            close(fd)
            throw VaultError(.unavailable, check
                ? "the audit log '\(path)' is locked by a running audit recovery (atrest-keyvault --recover-audit); start the vault when it has finished"
                : "the audit log '\(path)' is in use by a running vault; stop the vault before recovering its audit log")
        }
        // A torn last line (crash in the middle of a write) is cut off so the
        // chain stays parseable; it was never anchored.
        if check, scan.completeBytes < bytes.count { _ = ftruncate(fd, off_t(scan.completeBytes)) }
        state = Mutex(Chain(fd: fd, seq: scan.lastSeq, hash: scan.lastHash, sinceAnchor: 0))
        if check, scan.head == .missing { try anchor() }
    }

    deinit { _ = state.withLock { close($0.fd) } }

    /// Appends one entry (its seq is assigned here) and returns it.
    @discardableResult
    func append(_ entry: AuditEntry, anchorNow: Bool = false) throws(VaultError) -> AuditEntry {
        try state.withLock { chain throws(VaultError) -> AuditEntry in
            var entry = try names.persisted(entry)
            entry.seq = chain.seq + 1
            let content = entry.line
            let hash = try VaultCrypto.hmacSHA256(key: key, chain.hash, Array(content.utf8))
            let line = Array((content + "\t" + Hex.encode(hash) + "\n").utf8)
            let fd = chain.fd
            try vaulted { () throws(LocalStateError) in try LocalFile.writeAll(fd, line, path: path) }
            chain.seq = entry.seq
            chain.hash = hash
            chain.sinceAnchor += 1
            if anchorNow || chain.sinceAnchor >= anchorEvery { try anchor(&chain) }
            return entry
        }
    }

    /// Appends an `AuditGap` entry numbered `seq + 1`, chained to `hash` (the
    /// last entry that verifies), and anchors: recovery only.
    func appendGap(_ entry: AuditEntry, after seq: UInt64, chainedTo hash: [UInt8]) throws(VaultError) -> AuditEntry {
        state.withLock {
            $0.seq = seq
            $0.hash = hash
        }
        return try append(entry, anchorNow: true)
    }

    /// Makes the current head durable and records it in `audit.head`.
    func anchor() throws(VaultError) {
        try state.withLock { chain throws(VaultError) in try anchor(&chain) }
    }

    private func anchor(_ chain: inout Chain) throws(VaultError) {
        guard fdatasync(chain.fd) == 0 else { throw VaultError(.io, LocalFile.ioError("syncing audit log", path).message) }
        let text = "\(chain.seq)\t\(Hex.encode(chain.hash))"
        let mac = try VaultCrypto.hmacSHA256(key: key, Array("anchor\t\(text)".utf8))
        let head = Array("\(text)\t\(Hex.encode(mac))\n".utf8)
        try vaulted { () throws(LocalStateError) in try LocalFile.writeAtomically(head, to: headPath) }
        chain.sinceAnchor = 0
    }

    /// Entries with seq > `after`, at most `limit`.
    func entries(after: UInt64, limit: Int, where include: (AuditEntry) -> Bool = { _ in true }) throws(VaultError) -> [AuditEntry] {
        var result: [AuditEntry] = []
        for line in try lines() {
            guard let tab = line.lastIndex(of: "\t"), let entry = AuditEntry(line: line[..<tab]) else { continue }
            if entry.seq > after, include(entry) { result.append(entry) }
            if result.count >= limit { break }
        }
        return result
    }

    /// Recomputes the chain and checks it against the head anchor.
    func verify() throws(VaultError) -> AuditVerification {
        try scan().verification(logPath: path, headPath: headPath, newVault: newVault)
    }

    /// Reads the anchor first: entries it names were synced before it was written.
    func scan() throws(VaultError) -> AuditScan {
        let head = try vaulted { () throws(LocalStateError) in try LocalFile.read(headPath) }
        return try AuditScan(log: try vaulted { () throws(LocalStateError) in try LocalFile.read(path) } ?? [], head: head, key: key)
    }

    /// Complete lines only: a line being appended right now is not one yet.
    private func lines() throws(VaultError) -> [Substring] {
        let text = String(decoding: try vaulted { () throws(LocalStateError) in try LocalFile.read(path) } ?? [], as: UTF8.self)
        guard let last = text.lastIndex(of: "\n") else { return [] }
        return text[..<last].split(separator: "\n", omittingEmptySubsequences: false)
    }
}
