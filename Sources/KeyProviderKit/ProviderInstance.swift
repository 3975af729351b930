import AtRestCrypto
import CKeyProviderABI

/// One opened provider: its keys in memory and the host that persists them.
///
/// The host serialises calls into one handle (see the ABI header), so this
/// class needs no lock. Every change goes through `commit`, which persists
/// the new state before the call returns and restores the old value when
/// persisting fails: an error never leaves memory and disk disagreeing.
final class ProviderInstance {
    let rules: ProviderRules
    private let host: UnsafePointer<atrest_kp_host>
    private var keys: [String: StoredKey]

    init(rules: ProviderRules, host: UnsafePointer<atrest_kp_host>) throws(ProviderFailure) {
        self.rules = rules
        self.host = host
        keys = try Self.loadState(host: host, provider: rules.name)
    }

    var now: Int64 { host.pointee.now(host.pointee.context) }

    // MARK: key management

    func create(_ spec: atrest_kp_key_spec, material: SecretBytes?) throws(ProviderFailure) -> atrest_kp_key_info {
        guard let raw = spec.key_id else { throw ProviderFailure(.invalidArgument, "key id is missing") }
        let id = String(cString: raw)
        try Self.validate(id: id)
        if material != nil, !rules.allowsImport {
            throw ProviderFailure(.unsupported, "provider '\(rules.name)' generates its keys; import a key into the customer provider instead")
        }
        guard keys[id] == nil else { throw ProviderFailure(.alreadyExists, "key '\(id)' already exists in provider '\(rules.name)'") }
        let first: SecretBytes
        if let material { first = material } else { first = try Self.generate(id) }
        let time = now
        var key = StoredKey(id: id, versions: [first])
        key.flags = (spec.flags & ATREST_KP_FLAG_PURGE_PROTECTION) | (material == nil ? 0 : ATREST_KP_FLAG_IMPORTED)
        key.rotationDays = spec.rotation_days != 0 ? spec.rotation_days : rules.defaultRotationDays
        key.retentionDays = spec.retention_days != 0 ? spec.retention_days : rules.defaultRetentionDays
        key.createdAt = time
        key.rotatedAt = time
        key.expiresAt = spec.expires_at
        return try commit(id, key)
    }

    func rotate(_ id: String, material: SecretBytes?) throws(ProviderFailure) -> atrest_kp_key_info {
        var key = try lookup(id)
        if key.isDeleted { throw ProviderFailure(.deleted, "key '\(id)' is deleted; recover it before rotating") }
        if material != nil, !rules.allowsImport {
            throw ProviderFailure(.unsupported, "provider '\(rules.name)' does not take imported material")
        }
        if let material { key.versions.append(material) } else { key.versions.append(try Self.generate(id)) }
        key.rotatedAt = now
        return try commit(id, key)
    }

    func setState(_ id: String, _ state: UInt32) throws(ProviderFailure) -> atrest_kp_key_info {
        var key = try lookup(id)
        guard state == ATREST_KP_STATE_ENABLED.rawValue || state == ATREST_KP_STATE_DISABLED.rawValue else {
            throw ProviderFailure(.invalidArgument, "state must be enabled (0) or disabled (1), got \(state)")
        }
        if key.isDeleted { throw ProviderFailure(.deleted, "key '\(id)' is deleted; recover it first") }
        key.state = state
        return try commit(id, key)
    }

    func info(_ id: String) throws(ProviderFailure) -> atrest_kp_key_info { try lookup(id).info }

    func list() -> [atrest_kp_key_info] { keys.values.sorted { $0.id < $1.id }.map(\.info) }

    func delete(_ id: String) throws(ProviderFailure) -> atrest_kp_key_info {
        var key = try lookup(id)
        if key.isDeleted { throw ProviderFailure(.deleted, "key '\(id)' is already deleted") }
        let time = now
        key.stateBeforeDelete = key.state
        key.state = ATREST_KP_STATE_DELETED.rawValue
        key.deletedAt = time
        key.purgeAfter = time + Int64(key.retentionDays) * 86_400
        return try commit(id, key)
    }

    func recover(_ id: String) throws(ProviderFailure) -> atrest_kp_key_info {
        var key = try lookup(id)
        guard key.isDeleted else { throw ProviderFailure(.invalidArgument, "key '\(id)' is not deleted; nothing to recover") }
        key.state = key.stateBeforeDelete
        key.deletedAt = 0
        key.purgeAfter = 0
        return try commit(id, key)
    }

    func purge(_ id: String) throws(ProviderFailure) {
        let key = try lookup(id)
        guard key.isDeleted else {
            throw ProviderFailure(.invalidArgument, "key '\(id)' must be deleted before it is purged")
        }
        if key.flags & ATREST_KP_FLAG_PURGE_PROTECTION != 0, now < key.purgeAfter {
            throw ProviderFailure(.purgeProtected,
                "key '\(id)' is purge-protected until \(UTCTime.iso(key.purgeAfter)); it can be recovered until then")
        }
        _ = try commit(id, nil)
    }

    // MARK: crypto

    /// Key check value: the AES-256-GCM tag over a fixed label with an
    /// all-zero nonce and no plaintext (a GMAC of one fixed message). It is a
    /// one-way function of the key, and that nonce is never used for wrapping
    /// (wrap nonces are random: a collision has probability 2^-96).
    /// Interim: switch to HMAC-SHA256 once AtRestCrypto exposes HMAC.
    func checkValue(_ id: String, version: UInt32) throws(ProviderFailure) -> [UInt8] {
        let material = try lookup(id).material(version)
        do {
            let sealed = try AESGCM.seal([UInt8](), using: material, nonce: [UInt8](repeating: 0, count: 12),
                                         authenticating: Array("atrest/v1/kcv".utf8))
            return Array(sealed.suffix(Int(ATREST_KP_KCV_SIZE)))
        } catch {
            throw ProviderFailure(.internal, "computing the check value of key '\(id)' failed: \(error)")
        }
    }

    /// Wraps with the current version: random nonce ‖ ciphertext ‖ tag.
    func wrap(_ id: String, plaintext: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer) throws(ProviderFailure) -> (UInt32, [UInt8]) {
        let key = try lookup(id)
        try key.checkUsable()
        if rules.wrapRevoked { throw ProviderFailure(.revoked, "access to key '\(id)' is revoked (provider '\(rules.name)')") }
        if key.expiresAt != 0, now >= key.expiresAt {
            throw ProviderFailure(.expired, "key '\(id)' expired at \(UTCTime.iso(key.expiresAt)); it still unwraps but no longer wraps")
        }
        do {
            let nonce = try SecureRandom.bytes(AESGCM.nonceSize)
            let sealed = try AESGCM.seal(Array(plaintext), using: try key.material(0), nonce: nonce, authenticating: Array(aad))
            return (key.currentVersion, nonce + sealed)
        } catch let failure as ProviderFailure {
            throw failure
        } catch {
            throw ProviderFailure(.internal, "wrapping with key '\(id)' failed: \(error)")
        }
    }

    func unwrap(_ id: String, version: UInt32, wrapped: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer) throws(ProviderFailure) -> SecretBytes {
        let key = try lookup(id)
        try key.checkUsable()
        if rules.unwrapRevoked { throw ProviderFailure(.revoked, "access to key '\(id)' is revoked (provider '\(rules.name)')") }
        let material = try key.material(version)
        guard wrapped.count >= AESGCM.nonceSize + AESGCM.tagSize else {
            throw ProviderFailure(.corrupt, "wrapped bytes for key '\(id)' version \(version) are too short")
        }
        let nonce = Array(wrapped.prefix(AESGCM.nonceSize))
        let body = UnsafeRawBufferPointer(rebasing: wrapped[AESGCM.nonceSize..<(wrapped.count - AESGCM.tagSize)])
        let tag = Array(wrapped.suffix(AESGCM.tagSize))
        do {
            return try SecretBytes(count: body.count) { out in
                try AESGCM.open(body, into: out, tag: tag, using: material, nonce: nonce, authenticating: Array(aad))
            }
        } catch {
            throw ProviderFailure(.corrupt, "wrapped bytes for key '\(id)' version \(version) do not authenticate")
        }
    }

    // MARK: helpers

    private func lookup(_ id: String) throws(ProviderFailure) -> StoredKey {
        guard let key = keys[id] else { throw ProviderFailure(.notFound, "key '\(id)' not found in provider '\(rules.name)'") }
        return key
    }

    /// Replaces (or with nil removes) one key, persists, and undoes on failure.
    private func commit(_ id: String, _ key: StoredKey?) throws(ProviderFailure) -> atrest_kp_key_info {
        let old = keys[id]
        keys[id] = key
        do {
            try storeState()
        } catch {
            keys[id] = old
            throw error
        }
        return key?.info ?? atrest_kp_key_info()
    }

    private func storeState() throws(ProviderFailure) {
        let blob = StateCoding.encode(keys)
        var message = [CChar](repeating: 0, count: 512)
        let status = blob.withUnsafeBytes { bytes in
            host.pointee.store_state(host.pointee.context, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self),
                                     bytes.count, &message, message.count)
        }
        guard status == ATREST_KP_OK.rawValue else {
            throw ProviderFailure(.internal, "storing \(rules.name) state failed: \(cString(message))")
        }
    }

    private static func loadState(host: UnsafePointer<atrest_kp_host>, provider: String) throws(ProviderFailure) -> [String: StoredKey] {
        var data: UnsafeMutablePointer<UInt8>?
        var length = 0
        var message = [CChar](repeating: 0, count: 512)
        let status = host.pointee.load_state(host.pointee.context, &data, &length, &message, message.count)
        if status == ATREST_KP_NOT_FOUND.rawValue { return [:] }
        guard status == ATREST_KP_OK.rawValue, let data else {
            throw ProviderFailure(atrest_kp_status(rawValue: UInt32(status)), cString(message))
        }
        defer { host.pointee.free_state(host.pointee.context, data, length) }
        return try StateCoding.decode(UnsafeRawBufferPointer(start: data, count: length), provider: provider)
    }

    private static func generate(_ id: String) throws(ProviderFailure) -> SecretBytes {
        do { return try SecretBytes(randomCount: Int(ATREST_KP_KEY_SIZE)) } catch {
            throw ProviderFailure(.internal, "generating material for key '\(id)' failed: \(error)")
        }
    }

    static func validate(id: String) throws(ProviderFailure) {
        let allowed = id.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2e || c == 0x5f || c == 0x2d
        }
        guard !id.isEmpty, id.utf8.count < Int(ATREST_KP_KEY_ID_MAX), allowed else {
            throw ProviderFailure(.invalidArgument, "key id must be 1-127 characters of A-Z a-z 0-9 . _ -")
        }
    }
}

/// A NUL-terminated C message buffer as a String.
func cString(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
