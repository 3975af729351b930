import AtRestCrypto
internal import CKeyProviderABI
import Glibc
import Synchronization
import AtRestWire

/// One opened provider behind its C table, as Swift calls that throw
/// `VaultError`. Calls into one provider are serialised by `lock`, as the
/// ABI promises providers (see atrest_key_provider.h).
final class LoadedProvider: Sendable {
    let name: String
    /// Why the provider cannot serve (its state file is corrupt, ...), or nil.
    let unavailableReason: String?
    nonisolated(unsafe) private let table: UnsafePointer<atrest_kp_v1>
    private let lock = Mutex<HandleBox>(HandleBox())
    private let context: ProviderHostContext
    nonisolated(unsafe) private let host: UnsafeMutablePointer<atrest_kp_host>

    struct HandleBox: @unchecked Sendable { var handle: UnsafeMutableRawPointer? }

    /// Opens the provider. A config error stops start-up; a state that cannot
    /// be read leaves the provider unavailable (other providers keep serving,
    /// and the state file is left untouched for an operator to restore).
    init(spec: ProviderSpec, table: UnsafePointer<atrest_kp_v1>, context: ProviderHostContext) throws(VaultError) {
        name = spec.name
        self.table = table
        self.context = context
        let host = context.makeHostTable()
        self.host = host
        var handle: UnsafeMutableRawPointer?
        var message = [CChar](repeating: 0, count: 1024)
        let status = spec.config.withCString { config in
            table.pointee.open!(config, host, &handle, &message, message.count)
        }
        if status == Int32(ATREST_KP_OK.rawValue) {
            unavailableReason = nil
            lock.withLock { $0.handle = handle }
        } else if status == Int32(ATREST_KP_INVALID_ARGUMENT.rawValue) {
            throw VaultError(.invalidArgument, "provider '\(spec.name)': \(Self.text(message))")
        } else {
            unavailableReason = "provider '\(spec.name)' could not open its state: \(Self.text(message))"
        }
    }

    deinit {
        lock.withLock { box in
            if let handle = box.handle { table.pointee.close!(handle) }
            box.handle = nil
        }
        host.deallocate()
    }

    // MARK: operations

    func create(_ spec: KeySpec, material: SecretBytes?) throws(VaultError) -> KeyInfo {
        var info = atrest_kp_key_info()
        let id = strdup(spec.keyID)
        defer { free(id) }
        var cSpec = atrest_kp_key_spec(
            struct_size: UInt32(MemoryLayout<atrest_kp_key_spec>.size), key_id: UnsafePointer(id), expires_at: spec.expiresAt,
            rotation_days: spec.rotationDays, retention_days: spec.retentionDays,
            flags: spec.purgeProtection ? ATREST_KP_FLAG_PURGE_PROTECTION : 0)
        try call { t, h, msg, cap in
            if let material {
                material.withUnsafeBytes { m in
                    t.import_key!(h, &cSpec, m.baseAddress?.assumingMemoryBound(to: UInt8.self), m.count, &info, msg, cap)
                }
            } else {
                t.create_key!(h, &cSpec, &info, msg, cap)
            }
        }
        return KeyInfo(provider: name, info)
    }

    func rotate(_ keyID: String, material: SecretBytes?) throws(VaultError) -> KeyInfo {
        var info = atrest_kp_key_info()
        try call { t, h, msg, cap in
            guard let material else { return t.rotate!(h, keyID, nil, 0, &info, msg, cap) }
            return material.withUnsafeBytes { m in
                t.rotate!(h, keyID, m.baseAddress?.assumingMemoryBound(to: UInt8.self), m.count, &info, msg, cap)
            }
        }
        return KeyInfo(provider: name, info)
    }

    func setEnabled(_ keyID: String, _ enabled: Bool) throws(VaultError) -> KeyInfo {
        var info = atrest_kp_key_info()
        let state = enabled ? ATREST_KP_STATE_ENABLED.rawValue : ATREST_KP_STATE_DISABLED.rawValue
        try call { t, h, msg, cap in t.set_state!(h, keyID, state, &info, msg, cap) }
        return KeyInfo(provider: name, info)
    }

    func info(_ keyID: String) throws(VaultError) -> KeyInfo {
        var info = atrest_kp_key_info()
        try call { t, h, msg, cap in t.key_info!(h, keyID, &info, msg, cap) }
        return KeyInfo(provider: name, info)
    }

    func list() throws(VaultError) -> [KeyInfo] {
        var result: [KeyInfo] = []
        try call { t, h, msg, cap in
            var infos: UnsafeMutablePointer<atrest_kp_key_info>?
            var count = 0
            let status = t.list!(h, &infos, &count, msg, cap)
            if status == Int32(ATREST_KP_OK.rawValue), let infos {
                result = (0..<count).map { KeyInfo(provider: name, infos[$0]) }
                t.free_buffer!(h, infos, count * MemoryLayout<atrest_kp_key_info>.stride)
            }
            return status
        }
        return result
    }

    func checkValue(_ keyID: String, version: UInt32) throws(VaultError) -> [UInt8] {
        var kcv = [UInt8](repeating: 0, count: Int(ATREST_KP_KCV_SIZE))
        try call { t, h, msg, cap in t.check_value!(h, keyID, version, &kcv, msg, cap) }
        return kcv
    }

    func wrap(_ keyID: String, plaintext: SecretBytes, aad: [UInt8]) throws(VaultError) -> (version: UInt32, bytes: [UInt8]) {
        var version: UInt32 = 0
        var bytes: [UInt8] = []
        try call { t, h, msg, cap in
            var out: UnsafeMutablePointer<UInt8>?
            var length = 0
            let status = plaintext.withUnsafeBytes { p in
                t.wrap!(h, keyID, p.baseAddress?.assumingMemoryBound(to: UInt8.self), p.count, aad, aad.count,
                        &version, &out, &length, msg, cap)
            }
            if let out {
                bytes = Array(UnsafeBufferPointer(start: out, count: length))
                t.free_buffer!(h, out, length)
            }
            return status
        }
        return (version, bytes)
    }

    func unwrap(_ keyID: String, version: UInt32, wrapped: ArraySlice<UInt8>, aad: [UInt8]) throws(VaultError) -> SecretBytes {
        var secret: SecretBytes?
        try call { t, h, msg, cap in
            var out: UnsafeMutablePointer<UInt8>?
            var length = 0
            let status = wrapped.withUnsafeBytes { w in
                t.unwrap!(h, keyID, version, w.baseAddress?.assumingMemoryBound(to: UInt8.self), w.count,
                          aad, aad.count, &out, &length, msg, cap)
            }
            if let out {
                if status == Int32(ATREST_KP_OK.rawValue) { secret = SecretBytes(UnsafeBufferPointer(start: out, count: length)) }
                t.free_buffer!(h, out, length)
            }
            return status
        }
        guard let secret else { throw VaultError(.internal, "provider '\(name)' returned no plaintext for key '\(keyID)'") }
        return secret
    }

    func delete(_ keyID: String) throws(VaultError) -> KeyInfo {
        var info = atrest_kp_key_info()
        try call { t, h, msg, cap in t.delete_key!(h, keyID, &info, msg, cap) }
        return KeyInfo(provider: name, info)
    }

    func recover(_ keyID: String) throws(VaultError) -> KeyInfo {
        var info = atrest_kp_key_info()
        try call { t, h, msg, cap in t.recover_key!(h, keyID, &info, msg, cap) }
        return KeyInfo(provider: name, info)
    }

    func purge(_ keyID: String) throws(VaultError) {
        try call { t, h, msg, cap in t.purge_key!(h, keyID, msg, cap) }
    }

    // MARK: plumbing

    /// Runs one C call under the provider lock and maps its status.
    private func call(
        _ body: (atrest_kp_v1, UnsafeMutableRawPointer, UnsafeMutablePointer<CChar>, Int) -> Int32
    ) throws(VaultError) {
        if let unavailableReason { throw VaultError(.unavailable, unavailableReason) }
        var message = [CChar](repeating: 0, count: 512)
        let status = lock.withLock { box in
            message.withUnsafeMutableBufferPointer { buffer in body(table.pointee, box.handle!, buffer.baseAddress!, buffer.count) }
        }
        guard status != Int32(ATREST_KP_OK.rawValue) else { return }
        throw VaultError(Self.code(status), "\(name): \(Self.text(message))")
    }

    static func code(_ status: Int32) -> VaultError.Code {
        switch UInt32(bitPattern: status) {
        case ATREST_KP_NOT_FOUND.rawValue: .notFound
        case ATREST_KP_DISABLED.rawValue: .disabled
        case ATREST_KP_REVOKED.rawValue: .revoked
        case ATREST_KP_EXPIRED.rawValue: .expired
        case ATREST_KP_DELETED.rawValue: .deleted
        case ATREST_KP_PURGE_PROTECTED.rawValue: .purgeProtected
        case ATREST_KP_WRONG_KEY.rawValue: .wrongKey
        case ATREST_KP_CORRUPT.rawValue: .corrupt
        case ATREST_KP_INVALID_ARGUMENT.rawValue: .invalidArgument
        case ATREST_KP_ALREADY_EXISTS.rawValue: .alreadyExists
        case ATREST_KP_UNSUPPORTED.rawValue: .unsupported
        default: .internal
        }
    }

    static func text(_ message: [CChar]) -> String {
        String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
