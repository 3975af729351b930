import AtRestLocalState
import AtRestWire
import Glibc

/// `atrest-keyvault recover-audit`: offline, against a stopped vault's data
/// directory, with the vault's root key. When the audit log does not verify
/// (entries cut off the end, the head anchor deleted, an entry altered), it
/// records the gap as an `AuditGap` entry in the chain (what the anchor
/// expected, what verified, which lines were moved aside, when, by whom on
/// which host, why) and re-anchors, so the vault starts again and
/// `atrest audit verify` reports the log intact and lists the gap.
public enum AuditRecovery {
    public struct Report: Sendable {
        /// The log as found.
        public var before: AuditVerification
        /// The gap entry written; nil when the log verified and nothing was changed.
        public var gap: AuditEntry?
        /// Where the lines that did not verify were kept.
        public var damagedCopy: String?
    }

    /// The state of the audit log under `config.dataDirectory`, without changing anything.
    public static func inspect(config: KeyVaultConfiguration) throws(VaultError) -> AuditVerification {
        try open(config).verify()
    }

    /// Records the gap and re-anchors; `actor` says who ran it ("user@host").
    public static func recover(config: KeyVaultConfiguration, actor: String, reason: String = "") throws(VaultError) -> Report {
        let log = try open(config)
        let before = try log.verify()
        let record = try log.recordGap(by: actor, reason: reason, time: config.clock())
        return Report(before: before, gap: record?.entry, damagedCopy: record?.damagedCopy)
    }

    private static func open(_ config: KeyVaultConfiguration) throws(VaultError) -> AuditLog {
        let data = config.dataDirectory
        guard LocalFile.exists(data) else { throw VaultError(.notFound, "data directory '\(data)' does not exist") }
        // Never create a root key here: a new key would verify nothing.
        let keyFile = config.rootKeyPath ?? data + "/root.key"
        if config.rootKeyHex == nil, getenv(RootKey.environmentVariable) == nil, !LocalFile.exists(keyFile) {
            throw VaultError(.notFound, "no root key: '\(keyFile)' does not exist and $\(RootKey.environmentVariable) is not set; the recovery needs the vault's root key")
        }
        let rootKey = try RootKey.load(config)
        let names = try AuditNames(rootKey: rootKey, file: KeyVault.auditNamesFile(data, rootKey))
        return try AuditLog(path: data + "/audit.log", rootKey: rootKey, anchorEvery: config.auditAnchorEvery, names: names,
                            newVault: false, check: false)
    }
}
