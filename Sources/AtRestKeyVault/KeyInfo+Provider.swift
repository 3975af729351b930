import AtRestWire
internal import CKeyProviderABI

extension KeyInfo {
    /// The provider's description of a key (references filled in by the vault).
    init(provider: String, _ info: atrest_kp_key_info) {
        let keyID = withUnsafeBytes(of: info.key_id) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        let state: State = switch info.state {
        case ATREST_KP_STATE_DISABLED.rawValue: .disabled
        case ATREST_KP_STATE_DELETED.rawValue: .deleted
        default: .enabled
        }
        self.init(provider: provider, keyID: keyID, currentVersion: info.current_version, versionCount: info.version_count,
                  state: state, purgeProtection: info.flags & ATREST_KP_FLAG_PURGE_PROTECTION != 0,
                  imported: info.flags & ATREST_KP_FLAG_IMPORTED != 0, rotationDays: info.rotation_days,
                  retentionDays: info.retention_days, createdAt: info.created_at, rotatedAt: info.rotated_at,
                  expiresAt: info.expires_at, deletedAt: info.deleted_at, purgeAfter: info.purge_after)
    }

    /// When automatic rotation is due (nil when the key has no rotation period).
    var nextRotation: Int64? { nextRotation(daySeconds: 86_400) }

    /// The same with a rotation day of `daySeconds` (`KeyVaultConfiguration.rotationDaySeconds`).
    func nextRotation(daySeconds: Int64) -> Int64? { rotationDays == 0 ? nil : rotatedAt + Int64(rotationDays) * max(1, daySeconds) }
}
