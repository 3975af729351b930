import AtRestLocalState
import AtRestCrypto
internal import CKeyProviderABI
import Glibc
import AtRestWire

/// What the host callbacks of one provider reach through `context`: its
/// sealed state file and the vault clock. The provider never sees the root key.
final class ProviderHostContext: @unchecked Sendable {
    let state: SealedFile
    let clock: @Sendable () -> Int64
    /// Refuse `store_state` (offline recovery never writes the vault's files).
    let readOnly: Bool

    init(state: SealedFile, clock: @escaping @Sendable () -> Int64, readOnly: Bool = false) {
        self.state = state
        self.clock = clock
        self.readOnly = readOnly
    }

    /// A host table whose callbacks reach this context; freed by the caller.
    func makeHostTable() -> UnsafeMutablePointer<atrest_kp_host> {
        var host = atrest_kp_host()
        host.struct_size = UInt32(MemoryLayout<atrest_kp_host>.size)
        host.context = Unmanaged.passUnretained(self).toOpaque()
        host.load_state = { context, data, length, msg, cap in hostLoadState(context, data, length, msg, cap) }
        host.free_state = { _, data, length in
            guard let data else { return }
            memset(data, 0, length)
            free(data)
        }
        host.store_state = { context, data, length, msg, cap in hostStoreState(context, data, length, msg, cap) }
        host.now = { context in hostContext(context).clock() }
        let table = UnsafeMutablePointer<atrest_kp_host>.allocate(capacity: 1)
        table.initialize(to: host)
        return table
    }
}

private func hostContext(_ context: UnsafeMutableRawPointer?) -> ProviderHostContext {
    Unmanaged<ProviderHostContext>.fromOpaque(context!).takeUnretainedValue()
}

private func hostLoadState(
    _ context: UnsafeMutableRawPointer?, _ data: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
    _ length: UnsafeMutablePointer<Int>?, _ msg: UnsafeMutablePointer<CChar>?, _ cap: Int
) -> Int32 {
    do {
        guard let secret = try hostContext(context).state.read() else { return Int32(ATREST_KP_NOT_FOUND.rawValue) }
        let buffer = malloc(max(secret.count, 1))!.assumingMemoryBound(to: UInt8.self)
        secret.withUnsafeBytes { bytes in
            if let base = bytes.baseAddress { buffer.update(from: base.assumingMemoryBound(to: UInt8.self), count: bytes.count) }
        }
        data?.pointee = buffer
        length?.pointee = secret.count
        return Int32(ATREST_KP_OK.rawValue)
    } catch {
        writeMessage(error.message, msg, cap)
        return Int32((error.code == .corrupt ? ATREST_KP_CORRUPT : ATREST_KP_INTERNAL).rawValue)
    }
}

private func hostStoreState(
    _ context: UnsafeMutableRawPointer?, _ data: UnsafePointer<UInt8>?, _ length: Int,
    _ msg: UnsafeMutablePointer<CChar>?, _ cap: Int
) -> Int32 {
    let host = hostContext(context)
    guard !host.readOnly else {
        writeMessage("the provider state is opened read-only (offline recovery)", msg, cap)
        return Int32(ATREST_KP_INTERNAL.rawValue)
    }
    do {
        try host.state.write(UnsafeRawBufferPointer(start: data, count: length))
        return Int32(ATREST_KP_OK.rawValue)
    } catch {
        writeMessage(error.message, msg, cap)
        return Int32(ATREST_KP_INTERNAL.rawValue)
    }
}

func writeMessage(_ text: String, _ msg: UnsafeMutablePointer<CChar>?, _ cap: Int) {
    guard let msg, cap > 0 else { return }
    let utf8 = Array(text.utf8.prefix(cap - 1))
    for (index, byte) in utf8.enumerated() { msg[index] = CChar(bitPattern: byte) }
    msg[utf8.count] = 0
}
