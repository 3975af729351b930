import AtRestCrypto
import CKeyProviderABI
import Glibc

/// Builds the C function table (`atrest_kp_v1`) for a Swift provider.
///
/// Every entry is a `@convention(c)` function that turns the C arguments into
/// Swift values, calls `ProviderInstance`, and turns a thrown
/// `ProviderFailure` back into a status code and message. Only `open` differs
/// per plug-in (it carries the plug-in's `ProviderRules`), so each plug-in
/// passes its own non-capturing `open` function:
///
/// ```swift
/// @_cdecl("atrest_key_provider_v1")
/// public func entry() -> UnsafePointer<atrest_kp_v1> { Plugin.table }
/// enum Plugin {
///     nonisolated(unsafe) static let table = ProviderTable.make(name: "customer") { config, host, handle, msg, cap in
///         ProviderTable.open(.customer, config, host, handle, msg, cap)
///     }
/// }
/// ```
public enum ProviderTable {
    public typealias OpenFunction = @convention(c) (
        UnsafePointer<CChar>?, UnsafePointer<atrest_kp_host>?, UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
        UnsafeMutablePointer<CChar>?, Int) -> Int32

    /// Allocates the table once; it lives as long as the library is loaded.
    public static func make(name: String, open: OpenFunction) -> UnsafePointer<atrest_kp_v1> {
        var table = atrest_kp_v1()
        table.abi_version = ATREST_KP_ABI_VERSION
        table.struct_size = UInt32(MemoryLayout<atrest_kp_v1>.size)
        table.name = UnsafePointer(strdup(name))
        table.open = open
        table.close = { handle in
            guard let handle else { return }
            Unmanaged<ProviderInstance>.fromOpaque(handle).release()
        }
        table.create_key = { handle, spec, out, msg, cap in
            run(msg, cap) { () throws(ProviderFailure) in
                guard let spec, spec.pointee.struct_size >= UInt32(MemoryLayout<atrest_kp_key_spec>.size) else {
                    throw ProviderFailure(.invalidArgument, "key spec missing or too small")
                }
                let info = try instance(handle).create(spec.pointee, material: nil)
                out?.pointee = info
            }
        }
        table.import_key = { handle, spec, material, length, out, msg, cap in
            run(msg, cap) { () throws(ProviderFailure) in
                guard let spec, spec.pointee.struct_size >= UInt32(MemoryLayout<atrest_kp_key_spec>.size) else {
                    throw ProviderFailure(.invalidArgument, "key spec missing or too small")
                }
                let info = try instance(handle).create(spec.pointee, material: try secret(material, length))
                out?.pointee = info
            }
        }
        table.rotate = { handle, id, material, length, out, msg, cap in
            run(msg, cap) { () throws(ProviderFailure) in
                let imported = material == nil ? nil : try secret(material, length)
                out?.pointee = try instance(handle).rotate(try string(id), material: imported)
            }
        }
        table.set_state = { handle, id, state, out, msg, cap in
            run(msg, cap) { () throws(ProviderFailure) in out?.pointee = try instance(handle).setState(try string(id), state) }
        }
        table.key_info = { handle, id, out, msg, cap in
            run(msg, cap) { () throws(ProviderFailure) in out?.pointee = try instance(handle).info(try string(id)) }
        }
        table.list = { handle, infos, count, msg, cap in
            run(msg, cap) { () throws(ProviderFailure) in
                let all = try instance(handle).list()
                let buffer = all.isEmpty ? nil : malloc(all.count * MemoryLayout<atrest_kp_key_info>.stride)
                if !all.isEmpty, buffer == nil { throw ProviderFailure(.internal, "out of memory") }
                let typed = buffer?.bindMemory(to: atrest_kp_key_info.self, capacity: all.count)
                for (index, info) in all.enumerated() { typed![index] = info }
                infos?.pointee = typed
                count?.pointee = all.count
            }
        }
        table.check_value = { handle, id, version, kcv, msg, cap in
            run(msg, cap) { () throws(ProviderFailure) in
                let value = try instance(handle).checkValue(try string(id), version: version)
                guard let kcv else { throw ProviderFailure(.invalidArgument, "kcv buffer is NULL") }
                for (index, byte) in value.enumerated() { kcv[index] = byte }
            }
        }
        table.wrap = { handle, id, plaintext, length, aad, aadLength, version, wrapped, wrappedLength, msg, cap in
            run(msg, cap) { () throws(ProviderFailure) in
                let (used, bytes) = try instance(handle).wrap(
                    try string(id), plaintext: UnsafeRawBufferPointer(start: plaintext, count: length),
                    aad: UnsafeRawBufferPointer(start: aad, count: aadLength))
                version?.pointee = used
                wrapped?.pointee = try copyOut(bytes)
                wrappedLength?.pointee = bytes.count
            }
        }
        table.unwrap = { handle, id, version, wrapped, length, aad, aadLength, plaintext, plaintextLength, msg, cap in
            run(msg, cap) { () throws(ProviderFailure) in
                let secret = try instance(handle).unwrap(
                    try string(id), version: version, wrapped: UnsafeRawBufferPointer(start: wrapped, count: length),
                    aad: UnsafeRawBufferPointer(start: aad, count: aadLength))
                let copy = secret.withUnsafeBytes { bytes in try? copyOut(bytes) }
                guard let copy else { throw ProviderFailure(.internal, "out of memory") }
                plaintext?.pointee = copy
                plaintextLength?.pointee = secret.count
            }
        }
        table.delete_key = { handle, id, out, msg, cap in
            run(msg, cap) { () throws(ProviderFailure) in out?.pointee = try instance(handle).delete(try string(id)) }
        }
        table.recover_key = { handle, id, out, msg, cap in
            run(msg, cap) { () throws(ProviderFailure) in out?.pointee = try instance(handle).recover(try string(id)) }
        }
        table.purge_key = { handle, id, msg, cap in
            run(msg, cap) { () throws(ProviderFailure) in try instance(handle).purge(try string(id)) }
        }
        table.free_buffer = { _, pointer, length in
            guard let pointer else { return }
            memset(pointer, 0, length)
            free(pointer)
        }
        let stored = UnsafeMutablePointer<atrest_kp_v1>.allocate(capacity: 1)
        stored.initialize(to: table)
        return UnsafePointer(stored)
    }

    /// The body of a plug-in's `open`: parses the config with `rules`, loads
    /// state through the host, and hands back a retained instance.
    public static func open(
        _ rules: ProviderRules, _ config: UnsafePointer<CChar>?, _ host: UnsafePointer<atrest_kp_host>?,
        _ handle: UnsafeMutablePointer<UnsafeMutableRawPointer?>?, _ msg: UnsafeMutablePointer<CChar>?, _ cap: Int
    ) -> Int32 {
        run(msg, cap) { () throws(ProviderFailure) in
            guard let host, host.pointee.struct_size >= UInt32(MemoryLayout<atrest_kp_host>.size), let handle else {
                throw ProviderFailure(.invalidArgument, "\(rules.name): host table missing or too small")
            }
            let configured = try rules.configured(by: config.map { String(cString: $0) } ?? "")
            let instance = try ProviderInstance(rules: configured, host: host)
            handle.pointee = Unmanaged.passRetained(instance).toOpaque()
        }
    }
}

extension ProviderRules {
    /// Service-managed keys: generated here, rotated every 90 days by default.
    public static let managed = ProviderRules(name: "managed", allowsImport: false, defaultRotationDays: 90, defaultRetentionDays: 7)
    /// Customer-managed keys: create or import, no automatic rotation unless
    /// asked, 90 days of soft-delete retention by default.
    public static let customer = ProviderRules(name: "customer", allowsImport: true, defaultRotationDays: 0, defaultRetentionDays: 90)
    /// Answers every unwrap as revoked (and wrap too with `revoke_wrap=1`).
    public static let revokedTest = ProviderRules(name: "revoked-test", allowsImport: true, defaultRotationDays: 0,
                                                  defaultRetentionDays: 0, unwrapRevoked: true, extraConfigKeys: ["revoke_wrap"])
}

// MARK: C <-> Swift (file-level: a @convention(c) closure may not capture the enum's metatype)

private func run(_ msg: UnsafeMutablePointer<CChar>?, _ cap: Int, _ body: () throws(ProviderFailure) -> Void) -> Int32 {
    do {
        try body()
        return Int32(ATREST_KP_OK.rawValue)
    } catch {
        if let msg, cap > 0 {
            let utf8 = Array(error.message.utf8.prefix(cap - 1))
            for (index, byte) in utf8.enumerated() { msg[index] = CChar(bitPattern: byte) }
            msg[utf8.count] = 0
        }
        return Int32(error.status.rawValue)
    }
}

private func instance(_ handle: UnsafeMutableRawPointer?) throws(ProviderFailure) -> ProviderInstance {
    guard let handle else { throw ProviderFailure(.invalidArgument, "provider handle is NULL") }
    return Unmanaged<ProviderInstance>.fromOpaque(handle).takeUnretainedValue()
}

private func string(_ pointer: UnsafePointer<CChar>?) throws(ProviderFailure) -> String {
    guard let pointer else { throw ProviderFailure(.invalidArgument, "key id is NULL") }
    return String(cString: pointer)
}

private func secret(_ pointer: UnsafePointer<UInt8>?, _ length: Int) throws(ProviderFailure) -> SecretBytes {
    guard let pointer, length == Int(ATREST_KP_KEY_SIZE) else {
        throw ProviderFailure(.invalidArgument, "key material must be \(ATREST_KP_KEY_SIZE) bytes, got \(length)")
    }
    return SecretBytes(UnsafeBufferPointer(start: pointer, count: length))
}

/// A malloc'd copy for the host, released through `free_buffer`.
private func copyOut(_ bytes: some Collection<UInt8>) throws(ProviderFailure) -> UnsafeMutablePointer<UInt8> {
    guard let buffer = malloc(max(bytes.count, 1))?.bindMemory(to: UInt8.self, capacity: max(bytes.count, 1)) else {
        throw ProviderFailure(.internal, "out of memory")
    }
    _ = UnsafeMutableBufferPointer(start: buffer, count: bytes.count).initialize(from: bytes)
    return buffer
}
