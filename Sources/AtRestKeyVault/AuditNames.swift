import AtRestCrypto
import AtRestLocalState
import AtRestWire
import Synchronization

/// Keeps account and tenant names out of `audit.log`: they are written as
/// keyed hashes, `acct~` / `tenant~` + the first 16 bytes (hex) of
/// HMAC-SHA256(namesKey, kind ‖ 0x00 ‖ name), namesKey = HKDF-SHA256(root
/// key, info "atrest/v1/audit-names"). Without the root key the hashes
/// cannot be tested against guessed names; the same name always gets the
/// same hash, so entries of one account still line up.
///
/// The tenant fields of an entry are hashed; in its detail (error messages)
/// every word that is a name the vault has seen is replaced by its hash. The
/// names seen are kept in `audit-names.state`, sealed under the root key
/// (hash → name), so the vault can show a reader the names it may see
/// (`KeyVault.auditReadable`). Principal ids are not names (the identity
/// service issues random `usr_…`/`svc_…`/`mi_…` ids) and stay as they are.
final class AuditNames: Sendable {
    enum Kind: String, Sendable {
        case account = "acct"
        case tenant = "tenant"
    }

    private struct Table {
        /// "acct~…" → name.
        var names: [String: String] = [:]
        /// kind.rawValue + "\0" + name → hash.
        var hashes: [String: String] = [:]
        /// Names not yet written to the sealed file.
        var unsaved = false
    }

    private let key: SecretBytes
    private let file: SealedFile
    private let table: Mutex<Table>

    init(rootKey: SecretBytes, file: SealedFile) throws(VaultError) {
        do {
            key = try HKDF.deriveKey(from: rootKey, salt: [UInt8](), info: Array("atrest/v1/audit-names".utf8), outputCount: 32)
        } catch {
            throw VaultError(.internal, "deriving the audit names key failed")
        }
        self.file = file
        var table = Table()
        if let sealed = try vaulted({ () throws(LocalStateError) in try file.read() }) {
            let text = sealed.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: "\t", maxSplits: 1)
                guard parts.count == 2, let kind = parts[0].split(separator: "~").first.flatMap({ Kind(rawValue: String($0)) }) else {
                    throw VaultError(.corrupt, "audit names '\(file.path)' authenticates but does not parse")
                }
                table.names[String(parts[0])] = String(parts[1])
                table.hashes[kind.rawValue + "\0" + parts[1]] = String(parts[0])
            }
        }
        self.table = Mutex(table)
    }

    /// The keyed hash of `name`; "" stays "".
    func hash(_ name: String, _ kind: Kind) throws(VaultError) -> String {
        if name.isEmpty { return "" }
        if let known = table.withLock({ $0.hashes[kind.rawValue + "\0" + name] }) { return known }
        let mac = try VaultCrypto.hmacSHA256(key: key, Array((kind.rawValue + "\0" + name).utf8))
        return kind.rawValue + "~" + Hex.encode(Array(mac.prefix(16)))
    }

    /// Remembers names so that they are hashed wherever they occur in a
    /// detail; written to the sealed file by the next `persisted`.
    func note(_ names: [(String, Kind)]) throws(VaultError) {
        for (name, kind) in names where !name.isEmpty {
            let hashed = try hash(name, kind)
            table.withLock { table in
                if table.names[hashed] == nil {
                    table.names[hashed] = name
                    table.hashes[kind.rawValue + "\0" + name] = hashed
                    table.unsaved = true
                }
            }
        }
    }

    /// The form of `entry` that goes to disk: tenant fields hashed, known
    /// names in the detail replaced by their hashes. Saves new names first,
    /// so the sealed file covers every hash in the log.
    func persisted(_ entry: AuditEntry) throws(VaultError) -> AuditEntry {
        try note([(entry.tenantID, .tenant)])
        var out = entry
        out.tenantID = try hash(entry.tenantID, .tenant)
        out.detail = table.withLock { table in Self.redact(entry.detail, table.hashes) }
        try save()
        return out
    }

    /// `entry` with every hash in `visible` (or, with `all`, every known
    /// hash) turned back into its name.
    func resolve(_ entry: AuditEntry, visible: Set<String>, all: Bool) -> AuditEntry {
        table.withLock { table in
            func name(_ hashed: String) -> String? {
                guard all || visible.contains(hashed) else { return nil }
                return table.names[hashed]
            }
            var out = entry
            out.tenantID = name(entry.tenantID) ?? entry.tenantID
            out.detail = Self.words(entry.detail, extra: ["~"]) { word in
                let core = word.hasSuffix(".") ? word.dropLast() : word
                return name(String(core)).map { $0 + word.dropFirst(core.count) }
            }
            return out
        }
    }

    private func save() throws(VaultError) {
        try table.withLock { (table: inout Table) throws(VaultError) in
            guard table.unsaved else { return }
            let text = table.names.sorted { $0.key < $1.key }.map { "\($0.key)\t\($0.value)\n" }.joined()
            try vaulted { () throws(LocalStateError) in try file.write(Array(text.utf8)) }
            table.unsaved = false
        }
    }

    /// Replaces every word of `text` that is a known account or tenant name
    /// (a trailing '.' ends a sentence, not the name).
    static func redact(_ text: String, _ hashes: [String: String]) -> String {
        if text.isEmpty || hashes.isEmpty { return text }
        return words(text) { word in
            for candidate in [word, word.hasSuffix(".") ? word.dropLast() : nil].compactMap({ $0 }) {
                let name = String(candidate)
                if let hashed = hashes[Kind.account.rawValue + "\0" + name] ?? hashes[Kind.tenant.rawValue + "\0" + name] {
                    return hashed + word.dropFirst(candidate.count)
                }
            }
            return nil
        }
    }

    /// Rebuilds `text`, passing each maximal run of name characters
    /// (A-Z a-z 0-9 - _ . @, plus `extra`) to `replace`.
    static func words(_ text: String, extra: Set<Character> = [], _ replace: (Substring) -> String?) -> String {
        var out = ""
        var start = text.startIndex
        var index = text.startIndex
        func flush() {
            if start < index { out += replace(text[start..<index]) ?? String(text[start..<index]) }
        }
        while index < text.endIndex {
            let c = text[index]
            if c.isASCII, c.isLetter || c.isNumber || "-_.@".contains(c) || extra.contains(c) {
                index = text.index(after: index)
                continue
            }
            flush()
            out.append(c)
            index = text.index(after: index)
            start = index
        }
        flush()
        return out
    }
}
