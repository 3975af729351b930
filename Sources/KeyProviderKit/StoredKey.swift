import AtRestCrypto
import CKeyProviderABI

/// One key with all its versions, as a provider keeps it in memory.
/// A value type, so an operation can be undone by restoring the old value
/// when persisting it fails.
struct StoredKey {
    var id: String
    /// Version v is `versions[v - 1]`.
    var versions: [SecretBytes]
    var state: UInt32 = ATREST_KP_STATE_ENABLED.rawValue
    /// The state to return to on recover.
    var stateBeforeDelete: UInt32 = ATREST_KP_STATE_ENABLED.rawValue
    var flags: UInt32 = 0
    var rotationDays: UInt32 = 0
    var retentionDays: UInt32 = 0
    var createdAt: Int64 = 0
    var rotatedAt: Int64 = 0
    var expiresAt: Int64 = 0
    var deletedAt: Int64 = 0
    var purgeAfter: Int64 = 0

    var currentVersion: UInt32 { UInt32(versions.count) }
    var isDeleted: Bool { state == ATREST_KP_STATE_DELETED.rawValue }
    var isDisabled: Bool { state == ATREST_KP_STATE_DISABLED.rawValue }

    /// The material of `version` (0 = current).
    func material(_ version: UInt32) throws(ProviderFailure) -> SecretBytes {
        let v = version == 0 ? currentVersion : version
        guard v >= 1, v <= currentVersion else {
            throw ProviderFailure(.notFound, "key '\(id)' has no version \(version) (versions 1-\(currentVersion))")
        }
        return versions[Int(v) - 1]
    }

    /// Refuses use of a deleted or disabled key.
    func checkUsable() throws(ProviderFailure) {
        if isDeleted { throw ProviderFailure(.deleted, "key '\(id)' is deleted; recover it first") }
        if isDisabled { throw ProviderFailure(.disabled, "key '\(id)' is disabled; enable it first") }
    }

    var info: atrest_kp_key_info {
        var info = atrest_kp_key_info()
        withUnsafeMutableBytes(of: &info.key_id) { buffer in
            let utf8 = Array(id.utf8.prefix(Int(ATREST_KP_KEY_ID_MAX) - 1))
            buffer.copyBytes(from: utf8)
            buffer[utf8.count] = 0
        }
        info.current_version = currentVersion
        info.version_count = currentVersion
        info.state = state
        info.flags = flags
        info.rotation_days = rotationDays
        info.retention_days = retentionDays
        info.created_at = createdAt
        info.rotated_at = rotatedAt
        info.expires_at = expiresAt
        info.deleted_at = deletedAt
        info.purge_after = purgeAfter
        return info
    }
}
