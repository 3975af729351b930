internal import CKeyProviderABI
import AtRestLocalState
import Glibc
import AtRestWire

/// Finds, dlopens and checks a provider library. Every failure names the file
/// and what is wrong, and stops vault start-up: a vault that silently runs
/// without a configured provider would fail every unwrap for its keys later.
///
/// Libraries are never dlclose'd: a Swift library cannot be unloaded safely
/// (its metadata stays registered with the runtime), and providers live as
/// long as the vault process anyway.
enum PluginLoader {
    static func load(_ spec: ProviderSpec, directory: String) throws(VaultError) -> UnsafePointer<atrest_kp_v1> {
        let path = spec.library.contains("/") ? spec.library : directory + "/" + spec.library
        let who = "provider '\(spec.name)'"
        guard access(path, F_OK) == 0 else {
            throw VaultError(.pluginLoad, "\(who): plug-in file '\(path)' does not exist (set the plug-in directory or $ATREST_BIN_DIR)")
        }
        // Whoever can write the library or its directory runs code in the vault.
        do {
            try FileAccess.requireTrustedCode(path, what: "\(who): plug-in file")
            try FileAccess.requireTrustedCode(LocalFile.parentDirectory(of: path), what: "\(who): plug-in directory")
        } catch {
            throw VaultError(.pluginLoad, error.message)
        }
        guard let library = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            throw VaultError(.pluginLoad, "\(who): cannot load plug-in file '\(path)': \(lastDLError())")
        }
        guard let symbol = dlsym(library, spec.symbol) else {
            throw VaultError(.pluginLoad, "\(who): plug-in file '\(path)' does not export the symbol '\(spec.symbol)'; it is not an AtRest key provider")
        }
        typealias Entry = @convention(c) () -> UnsafePointer<atrest_kp_v1>?
        guard let table = unsafeBitCast(symbol, to: Entry.self)() else {
            throw VaultError(.pluginLoad, "\(who): '\(spec.symbol)' in '\(path)' returned no function table")
        }
        try check(table.pointee, who: who, path: path)
        return table
    }

    static func check(_ table: atrest_kp_v1, who: String, path: String) throws(VaultError) {
        guard table.abi_version == ATREST_KP_ABI_VERSION else {
            throw VaultError(.pluginLoad, "\(who): plug-in file '\(path)' implements key-provider ABI version \(table.abi_version); this vault needs version \(ATREST_KP_ABI_VERSION)")
        }
        guard table.struct_size >= UInt32(MemoryLayout<atrest_kp_v1>.size) else {
            throw VaultError(.pluginLoad, "\(who): plug-in file '\(path)' has a \(table.struct_size)-byte function table; ABI version \(ATREST_KP_ABI_VERSION) needs \(MemoryLayout<atrest_kp_v1>.size)")
        }
        let required: [(String, Bool)] = [
            ("open", table.open != nil), ("close", table.close != nil), ("create_key", table.create_key != nil),
            ("import_key", table.import_key != nil), ("rotate", table.rotate != nil), ("set_state", table.set_state != nil),
            ("key_info", table.key_info != nil), ("list", table.list != nil), ("check_value", table.check_value != nil),
            ("wrap", table.wrap != nil), ("unwrap", table.unwrap != nil), ("delete_key", table.delete_key != nil),
            ("recover_key", table.recover_key != nil), ("purge_key", table.purge_key != nil), ("free_buffer", table.free_buffer != nil),
        ]
        if let missing = required.first(where: { !$0.1 }) {
            throw VaultError(.pluginLoad, "\(who): plug-in file '\(path)' leaves the required function '\(missing.0)' NULL")
        }
    }

    private static func lastDLError() -> String {
        guard let message = dlerror() else { return "unknown dlopen error" }
        return String(cString: message)
    }
}
