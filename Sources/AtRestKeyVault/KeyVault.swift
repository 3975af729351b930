import AtRestCrypto
import AtRestLocalState
import AtRestWire

/// The key vault: loads the provider plug-ins, enforces access policy, wraps
/// and unwraps account keys, audits every key operation and emits key events.
///
/// Thread-safe; every method is synchronous and fast (microseconds), so RPC
/// handlers call it directly. Every key operation, allowed or not, leaves one
/// audit entry; errors name the key, never key bytes.
public final class KeyVault: Sendable {
    public let config: KeyVaultConfiguration
    let providers: [String: LoadedProvider]
    let policy: VaultPolicy
    let audit: AuditLog
    let statusAudit: KeyStatusAudit
    let events: any KeyEventSink
    /// Qualifies key names with their tenant's tag (`KeyVault+Tenants`).
    let namespace: KeyNamespace
    let importPrivateKey: SecretBytes
    /// The X25519 public key customers seal imported keys to (`ImportEnvelope`).
    public let importPublicKey: [UInt8]

    /// Opens (or creates) the vault under `config.dataDirectory`. Fails for a
    /// provider that cannot be loaded (missing file, missing symbol, wrong ABI
    /// version, bad config), a bad root key, or a corrupt vault state; a
    /// provider whose own state is corrupt is left unavailable instead.
    public init(config: KeyVaultConfiguration, events: any KeyEventSink = NoKeyEvents()) throws(VaultError) {
        self.config = config
        self.events = events
        let data = config.dataDirectory
        try vaulted { () throws(LocalStateError) in
            try LocalFile.makeDirectory(data + "/providers")
            try FileAccess.requirePrivateTree(data, what: "vault data directory")
        }
        let rootKey = try RootKey.load(config)
        namespace = try KeyNamespace(rootKey: rootKey)
        let directory = config.pluginDirectory ?? KeyVaultConfiguration.defaultPluginDirectory()
        var providers: [String: LoadedProvider] = [:]
        for spec in config.providers {
            guard (try? ProviderName.validate(spec.name)) != nil else {
                throw VaultError(.invalidArgument, "provider name '\(spec.name)' must be 1-64 characters of a-z 0-9 . _ -")
            }
            guard providers[spec.name] == nil else { throw VaultError(.invalidArgument, "provider '\(spec.name)' is configured twice") }
            let table = try PluginLoader.load(spec, directory: directory)
            let state = SealedFile(path: "\(data)/providers/\(spec.name).state", label: "provider:\(spec.name)", rootKey: rootKey)
            providers[spec.name] = try LoadedProvider(spec: spec, table: table, context: ProviderHostContext(state: state, clock: config.clock))
        }
        self.providers = providers
        // import-key.state is made at the first start, after the audit log.
        let newVault = !LocalFile.exists(data + "/import-key.state") && !LocalFile.exists(data + "/vault.state")
        policy = try VaultPolicy(file: SealedFile(path: data + "/vault.state", label: "vault-state", rootKey: rootKey))
        audit = try AuditLog(path: data + "/audit.log", rootKey: rootKey, anchorEvery: config.auditAnchorEvery,
                             names: try AuditNames(rootKey: rootKey, file: Self.auditNamesFile(data, rootKey)), newVault: newVault)
        statusAudit = KeyStatusAudit(interval: config.keyStatusAuditInterval)
        let importFile = SealedFile(path: data + "/import-key.state", label: "import-key", rootKey: rootKey)
        let importKey: SecretBytes
        if let existing = try vaulted({ () throws(LocalStateError) in try importFile.read() }), existing.count == 32 {
            importKey = existing
        } else {
            importKey = try VaultCrypto.x25519PrivateKey()
            try vaulted { () throws(LocalStateError) in try importFile.write(importKey) }
        }
        importPrivateKey = importKey
        importPublicKey = try VaultCrypto.x25519PublicKey(importPrivateKey)
    }

    /// Names of the loaded providers, and why any of them cannot serve.
    public var providerStatus: [String: String?] { providers.mapValues(\.unavailableReason) }

    /// Writes the pending `KeyStatusSummary` entries and anchors the audit
    /// head; call on shutdown.
    public func close() throws(VaultError) {
        try flushKeyStatusSummaries()
        try audit.anchor()
    }

    // MARK: shared plumbing

    func provider(_ name: String) throws(VaultError) -> LoadedProvider {
        guard let provider = providers[name] else {
            let known = providers.keys.sorted().joined(separator: ", ")
            throw VaultError(.notFound, "provider '\(name)' is not loaded (loaded: \(known))")
        }
        return provider
    }

    func requireRole(_ caller: VaultCaller, _ roles: [String], for action: String) throws(VaultError) {
        guard roles.contains(where: caller.roles.contains) else {
            throw VaultError(.permissionDenied, "\(caller) lacks the role '\(roles[0])' needed to \(action)")
        }
    }

    /// Runs one key operation and audits it whatever the outcome. Key
    /// management (`anchor`) also anchors the audit head.
    func audited<R>(
        _ operation: String, _ key: KeyRef, _ caller: VaultCaller, _ callID: [UInt8], anchor: Bool = false,
        detail: String = "", version: (R) -> UInt32 = { _ in 0 }, _ body: () throws(VaultError) -> R
    ) throws(VaultError) -> R {
        let result: R
        do {
            result = try body()
        } catch {
            let text = detail.isEmpty ? error.message : detail + ": " + error.message
            _ = try? audit.append(entry(operation, key, caller, callID, result: error.code.rawValue, detail: text), anchorNow: anchor)
            VaultMetrics.record(operation: operation, provider: providerLabel(key.provider), result: error.code.rawValue)
            throw error
        }
        var ref = key
        ref.version = version(result)
        try audit.append(entry(operation, ref, caller, callID, result: "ok", detail: detail), anchorNow: anchor)
        VaultMetrics.record(operation: operation, provider: providerLabel(key.provider), result: "ok")
        return result
    }

    /// The entry for one call. The names its detail may hold (the caller's
    /// tenant and account, its grant's tenant and account) are noted so the
    /// log writes them hashed (`AuditNames`).
    func entry(_ operation: String, _ key: KeyRef, _ caller: VaultCaller, _ callID: [UInt8], result: String, detail: String = "") -> AuditEntry {
        var names: [(String, AuditNames.Kind)] = [(caller.tenantID, .tenant), (caller.accountID, .account)]
        if let binding = policy.binding(caller.principalID, on: key) { names += [(binding.tenant, .tenant), (binding.accountID, .account)] }
        // A failure here surfaces in the append that follows (it saves the names).
        try? audit.names.note(names)
        return AuditEntry(time: config.clock(), callID: callID, principalID: caller.principalID, tenantID: caller.tenantID,
                          operation: operation, key: key, result: result, detail: detail)
    }


    /// Where the hashed names of the audit log are kept, sealed (`AuditNames`).
    static func auditNamesFile(_ data: String, _ rootKey: SecretBytes) -> SealedFile {
        SealedFile(path: data + "/audit-names.state", label: "audit-names", rootKey: rootKey)
    }

    func emit(_ kind: KeyEvent.Kind, _ key: KeyRef, principal: String = "", actor: VaultCaller) {
        events.publish(KeyEvent(kind: kind, key: key, principalID: principal, time: config.clock(), actorID: actor.principalID))
    }
}

enum ProviderName {
    static func validate(_ name: String) throws(VaultError) {
        let ok = !name.isEmpty && name.utf8.count <= 64 && name.utf8.allSatisfy { c in
            (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c == 0x2e || c == 0x5f || c == 0x2d
        }
        if !ok { throw VaultError(.invalidArgument, "bad provider name") }
    }
}
