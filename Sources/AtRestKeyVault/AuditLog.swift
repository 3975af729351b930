import AtRestLocalState
import AtRestCrypto
import Glibc
import Synchronization

/// Append-only, hash-chained audit log.
///
/// Each line is an `AuditEntry` (tab-separated) followed by
/// `hash_i = HMAC-SHA256(auditKey, hash_{i-1} ‖ line_i)`, `hash_0` = 32 zero
/// bytes, and `auditKey` = HMAC-SHA256(rootKey, "atrest/v1/audit-chain"). An
/// edited, removed, inserted or reordered line breaks the chain at that line;
/// keying the chain means someone with write access to the file but not the
/// root key cannot recompute it.
///
/// Cutting entries off the end leaves a valid chain, so the head is anchored:
/// `audit.head` holds the last anchored seq and hash with their MAC and is
/// rewritten (after an fdatasync of the log) after every key-management
/// operation and every `anchorEvery` entries. Verification requires the log
/// to reach the anchor. Entries after the last anchor are covered by the chain
/// only. Lines are appended with one write(2) each and not fsynced one by one
/// (a process crash loses nothing; an OS crash can lose the un-anchored tail).
final class AuditLog: Sendable {
    let path: String
    private let headPath: String
    private let key: SecretBytes
    private let anchorEvery: Int
    private let state: Mutex<Chain>

    struct Chain {
        var fd: Int32
        var seq: UInt64
        var hash: [UInt8]
        var sinceAnchor: Int
    }

    init(path: String, rootKey: SecretBytes, anchorEvery: Int) throws(VaultError) {
        self.path = path
        headPath = path + ".head"
        key = SecretBytes(try VaultCrypto.hmacSHA256(key: rootKey, Array("atrest/v1/audit-chain".utf8)))
        self.anchorEvery = max(1, anchorEvery)
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw VaultError(.io, LocalFile.ioError("opening audit log", path).message) }
        // Continue the chain from the last complete line. A torn last line
        // (crash in the middle of a write) is cut off so the chain stays parseable.
        let bytes = try vaulted { () throws(LocalStateError) in try LocalFile.read(path) } ?? []
        var end = bytes.count
        if let lastNewline = bytes.lastIndex(of: 0x0a) { end = lastNewline + 1 } else { end = 0 }
        if end < bytes.count { _ = ftruncate(fd, off_t(end)) }
        var chain = Chain(fd: fd, seq: 0, hash: [UInt8](repeating: 0, count: 32), sinceAnchor: 0)
        if end > 0 {
            let content = bytes[..<(end - 1)]
            let lastLine = content.lastIndex(of: 0x0a).map { content[($0 + 1)...] } ?? content[...]
            let text = String(decoding: lastLine, as: UTF8.self)
            if let tab = text.lastIndex(of: "\t"), let hash = Hex.decode(String(text[text.index(after: tab)...])),
               let entry = AuditEntry(line: text[..<tab]) {
                chain.seq = entry.seq
                chain.hash = hash
            } else {
                throw VaultError(.corrupt, "audit log '\(path)': the last line is malformed; verify the log and restore it from backup")
            }
        }
        state = Mutex(chain)
    }

    deinit { _ = state.withLock { close($0.fd) } }

    /// Appends one entry (its seq is assigned here) and returns it.
    @discardableResult
    func append(_ entry: AuditEntry, anchorNow: Bool = false) throws(VaultError) -> AuditEntry {
        try state.withLock { chain throws(VaultError) -> AuditEntry in
            var entry = entry
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

    /// Recomputes the chain and checks the head anchor.
    func verify() throws(VaultError) -> AuditVerification {
        var previous = [UInt8](repeating: 0, count: 32)
        var count: UInt64 = 0
        var hashes: [UInt64: [UInt8]] = [:]
        for (index, line) in try lines().enumerated() {
            let number = UInt64(index + 1)
            func bad(_ problem: String) -> AuditVerification {
                AuditVerification(intact: false, entries: count, firstBadLine: number, problem: "line \(number): \(problem)")
            }
            guard let tab = line.lastIndex(of: "\t"), let stored = Hex.decode(String(line[line.index(after: tab)...])),
                  let entry = AuditEntry(line: line[..<tab]) else { return bad("malformed entry") }
            let expected = try VaultCrypto.hmacSHA256(key: key, previous, Array(line[..<tab].utf8))
            guard ConstantTime.equals(expected, stored) else {
                return bad("hash does not match (the entry was edited, or an entry before it was removed, inserted or reordered)")
            }
            guard entry.seq == number else { return bad("sequence number \(entry.seq) where \(number) was expected") }
            previous = stored
            hashes[entry.seq] = stored
            count = number
        }
        if let head = try vaulted({ () throws(LocalStateError) in try LocalFile.read(headPath) }) {
            let fields = String(decoding: head, as: UTF8.self).split(separator: "\n").first?.split(separator: "\t") ?? []
            guard fields.count == 3, let seq = UInt64(fields[0]), let mac = Hex.decode(String(fields[2])),
                  ConstantTime.equals(mac, try VaultCrypto.hmacSHA256(key: key, Array("anchor\t\(fields[0])\t\(fields[1])".utf8))) else {
                return AuditVerification(intact: false, entries: count, firstBadLine: count + 1, problem: "the head anchor '\(headPath)' is malformed or was edited")
            }
            guard seq <= count, let hash = hashes[seq], Hex.encode(hash) == fields[1] else {
                return AuditVerification(intact: false, entries: count, firstBadLine: count + 1,
                                         problem: "the log ends at entry \(count) but the head anchor records entry \(seq): entries were cut off the end")
            }
        }
        return AuditVerification(intact: true, entries: count)
    }

    private func lines() throws(VaultError) -> [Substring] {
        let text = String(decoding: try vaulted { () throws(LocalStateError) in try LocalFile.read(path) } ?? [], as: UTF8.self)
        if text.isEmpty { return [] }
        return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast(text.hasSuffix("\n") ? 1 : 0).map { $0 }
    }
}
