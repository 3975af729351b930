import AtRestCrypto
import AtRestTokens
import AtRestWire

/// Wrap/unwrap of account keys and the reference counts of stored data.
extension KeyVault {
    /// Wraps `accountKey` with the key's current version. Needs a "wrap" grant.
    /// Rotates the key first when its rotation period has passed.
    public func wrap(_ accountKey: SecretBytes, with key: KeyRef, context: [UInt8] = [], caller: VaultCaller, callID: [UInt8] = []) throws(VaultError) -> WrappedKey {
        try auditedKey(KeyVaultMethod.wrap.verb, key.unversioned, caller, callID, version: { $0.key.version }) { key throws(VaultError) in
            try requireGrant(caller, .wrap, key)
            guard accountKey.count > 0, accountKey.count <= 64 else {
                throw VaultError(.invalidArgument, "account keys are 1-64 bytes, got \(accountKey.count)")
            }
            return try wrapWithCurrentVersion(accountKey, key, context: context)
        }
    }

    /// Length of the account keys `generateWrappedKey` makes (AES-256).
    public static let generatedKeyLength = 32

    /// "Generate data key without plaintext" (AWS KMS's name for it): draws a
    /// random 32-byte account key here, wraps it exactly as `wrap` does and
    /// returns only the wrapped form, so the caller never holds the key in
    /// clear. The plaintext is wiped when this returns.
    ///
    /// Needs a "wrap" grant (the same check as `wrap`): creating a key only
    /// wraps; using it later needs an "unwrap" grant. A disabled, deleted or
    /// unknown key fails exactly as `wrap` fails. Audited as "GenerateWrappedKey".
    public func generateWrappedKey(with key: KeyRef, context: [UInt8] = [], caller: VaultCaller, callID: [UInt8] = []) throws(VaultError) -> WrappedKey {
        try auditedKey(KeyVaultMethod.generateWrappedKey.verb, key.unversioned, caller, callID, version: { $0.key.version }) { key throws(VaultError) in
            try requireGrant(caller, .wrap, key)
            let accountKey = try VaultCrypto.randomKey(count: Self.generatedKeyLength)
            return try wrapWithCurrentVersion(accountKey, key, context: context)
        }
    }

    /// The part of `wrap` after the caller checks: rotates a due key, then
    /// wraps with the current version. The header (with the KCV of the version
    /// about to be used) and `context` are the AAD.
    private func wrapWithCurrentVersion(_ accountKey: SecretBytes, _ key: KeyRef, context: [UInt8]) throws(VaultError) -> WrappedKey {
        let provider = try provider(key.provider)
        var info = try provider.info(key.keyID)
        if info.state == .enabled, let next = info.nextRotation(daySeconds: config.rotationDaySeconds), config.clock() >= next {
            info = try rotateKey(key.unversioned, caller: .system)
        }
        // If a rotation slips in between, the version check below catches it.
        let version = info.currentVersion
        let kcv = try provider.checkValue(key.keyID, version: version)
        let ref = KeyRef(provider: key.provider, keyID: key.keyID, version: version)
        var wrapped = WrappedKey(key: ref, checkValue: kcv, providerBytes: [])
        let (used, bytes) = try provider.wrap(key.keyID, plaintext: accountKey, aad: WrappedKey.aad(header: wrapped.header, context: context))
        guard used == version else {
            throw VaultError(.internal, "key \(key) was rotated during the wrap; retry")
        }
        wrapped.providerBytes = bytes
        return wrapped
    }

    /// Unwraps a blob made by `wrap`. Needs an "unwrap" grant on the key named
    /// in the blob. A blob wrapped by other material under the same name fails
    /// as `.wrongKey`; a damaged blob or a different context as `.corrupt`.
    public func unwrap(_ blob: [UInt8], context: [UInt8] = [], caller: VaultCaller, callID: [UInt8] = []) throws(VaultError) -> (key: SecretBytes, ref: KeyRef) {
        let parsed: WrappedKey
        do { parsed = try WrappedKey(parsing: blob) } catch {
            _ = try? audit.append(AuditEntry(time: config.clock(), callID: callID, principalID: caller.principalID, tenantID: caller.tenantID,
                                         operation: KeyVaultMethod.unwrap.verb, key: KeyRef(provider: "", keyID: ""), result: error.code.rawValue, detail: error.message))
            throw error
        }
        let ref = parsed.key
        return try auditedKey(KeyVaultMethod.unwrap.verb, ref, caller, callID, version: { $0.ref.version }) { ref throws(VaultError) in
            try requireGrant(caller, .unwrap, ref)
            return (try Self.unwrap(parsed, with: try provider(ref.provider), context: context), ref)
        }
    }

    /// The unwrap itself, after every policy check: the key check value
    /// first (another key under the same name is `.wrongKey`), then the
    /// provider's AEAD over the header and `context`. Shared with `OfflineKeyring`.
    static func unwrap(_ parsed: WrappedKey, with provider: LoadedProvider, context: [UInt8]) throws(VaultError) -> SecretBytes {
        let ref = parsed.key
        let kcv = try provider.checkValue(ref.keyID, version: ref.version)
        guard ConstantTime.equals(kcv, parsed.checkValue) else {
            throw VaultError(.wrongKey, "wrong key: the blob was wrapped by different key material than \(ref) holds (was the key purged and re-created under the same name?)")
        }
        return try provider.unwrap(ref.keyID, version: ref.version, wrapped: parsed.providerBytes[...],
                                   aad: WrappedKey.aad(header: parsed.header, context: context))
    }

    /// Stored data now holds one more wrapped account key made with `key`
    /// (a specific version, its qualified id). Only services call this: the
    /// front door is the component that knows which accounts use which key,
    /// and a user who could unregister could then purge a key in use.
    public func registerReference(_ key: KeyRef, caller: VaultCaller, callID: [UInt8] = []) throws(VaultError) -> UInt64 {
        try changeReference(key, delta: 1, caller: caller, callID: callID)
    }

    /// Stored data dropped a wrapped account key made with `key`.
    public func unregisterReference(_ key: KeyRef, caller: VaultCaller, callID: [UInt8] = []) throws(VaultError) -> UInt64 {
        try changeReference(key, delta: -1, caller: caller, callID: callID)
    }

    private func changeReference(_ key: KeyRef, delta: Int, caller: VaultCaller, callID: [UInt8]) throws(VaultError) -> UInt64 {
        try audited(delta > 0 ? KeyVaultMethod.registerReference.verb : KeyVaultMethod.unregisterReference.verb, key, caller, callID) { () throws(VaultError) in
            try requireRole(caller, [config.serviceRole], for: "change the reference counts of keys (only AtRest's front door does)")
            guard KeyNamespace.split(key.keyID) != nil else { throw Self.notFound(key) }
            let info = try provider(key.provider).info(key.keyID)
            guard key.version >= 1, key.version <= info.currentVersion else {
                throw VaultError(.notFound, "\(key.unversioned) has no version \(key.version) (versions 1-\(info.currentVersion))")
            }
            return try policy.reference(key, delta: delta)
        }
    }

    func requireGrant(_ caller: VaultCaller, _ operation: KeyOperation, _ key: KeyRef) throws(VaultError) {
        guard policy.allows(caller.principalID, operation, on: key) else {
            throw VaultError(.permissionDenied, "\(caller) has no '\(operation.rawValue)' grant on key \(key.unversioned); a key administrator can add it with GrantAccess")
        }
        // A managed identity's grant holds only in the tenant it was made in; a
        // grant to a principal named by id, only within the key's tenant.
        if let binding = policy.binding(caller.principalID, on: key), binding.accountID.isEmpty {
            guard binding.tenant == caller.tenantID else {
                throw VaultError(.permissionDenied, "\(caller) has no '\(operation.rawValue)' grant on key \(key.unversioned) in its tenant '\(caller.tenantID)'")
            }
        } else if let binding = policy.binding(caller.principalID, on: key) {
            let grant = ManagedIdentityGrant(principalID: caller.principalID, tenant: binding.tenant, accountID: binding.accountID)
            do throws(RPCStatus) {
                try grant.check(principalID: caller.principalID, tenant: caller.tenantID, keyName: key.unversioned.description)
            } catch {
                throw VaultError(error.code == .failedPrecondition ? .grantTenantMismatch : .permissionDenied, error.message)
            }
        }
    }

    /// Unwraps `blob` and wraps the account key again with `target` (nil:
    /// the current version of the key that wrapped it), all inside the vault,
    /// so the account key never travels in clear. Needs unwrap on the old key
    /// and wrap on the new one; both steps are audited. Reference counts are
    /// the caller's: register the new version, unregister the old.
    public func rewrap(_ blob: [UInt8], context: [UInt8] = [], to target: KeyRef? = nil, caller: VaultCaller, callID: [UInt8] = []) throws(VaultError) -> WrappedKey {
        let (secret, ref) = try unwrap(blob, context: context, caller: caller, callID: callID)
        let destination = target.flatMap { $0.provider.isEmpty && $0.keyID.isEmpty ? nil : $0 } ?? ref.unversioned
        return try wrap(secret, with: destination.unversioned, context: context, caller: caller, callID: callID)
    }

    // MARK: audit

    /// The audit entries after `after`: all of them for the system
    /// administrator; for a tenant's administrators and auditors, those of the
    /// tenant's keys and of its own principals' calls.
    public func auditEntries(after: UInt64 = 0, limit: Int = 1000, caller: VaultCaller) throws(VaultError) -> [AuditEntry] {
        try requireRole(caller, [config.auditorRole, config.adminRole], for: "read the audit log")
        let limit = max(1, min(limit, 10_000))
        if isSystemAdministrator(caller) { return auditReadable(try audit.entries(after: after, limit: limit), for: caller) }
        let tenant = try auditTenantHash(caller)
        return auditReadable(try audit.entries(after: after, limit: limit) { isTenantEntry($0, caller.tenantID, hashed: tenant) }, for: caller)
    }

    /// The chain is one chain, keyed with the root key, so only the vault can
    /// recompute it: for a tenant it verifies the whole chain and reports the
    /// count of the tenant's own entries (never the others').
    public func verifyAuditLog(caller: VaultCaller) throws(VaultError) -> AuditVerification {
        try requireRole(caller, [config.auditorRole, config.adminRole], for: "verify the audit log")
        var report = try audit.verify()
        if isSystemAdministrator(caller) { return report }
        let tenant = try auditTenantHash(caller)
        report.entries = UInt64(try audit.entries(after: 0, limit: .max) { isTenantEntry($0, caller.tenantID, hashed: tenant) }.count)
        return report
    }

    /// The caller's tenant as `audit.log` stores it (`AuditNames`).
    private func auditTenantHash(_ caller: VaultCaller) throws(VaultError) -> String {
        try audit.names.hash(caller.tenantID, .tenant)
    }

    /// An entry of `tenant`: one of its keys, a call by one of its
    /// principals, or a recorded gap (which concerns every tenant).
    private func isTenantEntry(_ entry: AuditEntry, _ tenant: String, hashed: String) -> Bool {
        entry.tenantID == hashed || owns(tenant, entry.key) || entry.operation == AuditEntry.gapOperation
    }
}
