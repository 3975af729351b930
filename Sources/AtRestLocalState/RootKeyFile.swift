import AtRestCrypto
import Glibc

/// A service's root key: 32 random bytes that seal its local state.
///
/// Taken from an environment variable or a key file, both holding 64 hex
/// characters; the file is created with mode 0600 at first start. A file
/// readable by group or others is refused. When state already exists but its
/// key is missing, nothing is created: a fresh key would make that state
/// unreadable, so the caller gets an error that says what to restore.
public enum RootKeyFile {
    /// Resolves the key: `environmentVariable` if set, else `path`; creates
    /// the file when it is missing and `mayCreate` is true.
    public static func resolve(path: String, environmentVariable: String?, mayCreate: Bool, service: String) throws(LocalStateError) -> SecretBytes {
        if let name = environmentVariable, let value = getenv(name), value.pointee != 0 {
            return try parse(String(cString: value), source: "$\(name)")
        }
        if LocalFile.exists(path) {
            try LocalFile.requireOwnerOnly(path, what: "\(service) root key file")
            let bytes = try LocalFile.read(path) ?? []
            return try parse(String(decoding: bytes, as: UTF8.self), source: "\(service) root key file '\(path)'")
        }
        guard mayCreate else {
            throw LocalStateError(.corrupt, "the \(service) state exists but its root key file '\(path)' is missing; restore the key file\(environmentVariable.map { " (or set $\($0))" } ?? ""), the state cannot be read without it")
        }
        let key: SecretBytes
        do { key = try SecretBytes(randomCount: AESGCM.keySize) } catch {
            throw LocalStateError(.io, "generating the \(service) root key failed: \(error)")
        }
        try LocalFile.makeDirectory(LocalFile.parentDirectory(of: path))
        let text = key.withUnsafeBytes { Hex.encode($0) } + "\n"
        guard try LocalFile.createExclusive(Array(text.utf8), at: path) else {
            throw LocalStateError(.io, "\(service) root key file '\(path)' appeared while creating it; restart the service")
        }
        return key
    }

    /// Parses 64 hex characters (surrounding white space ignored).
    public static func parse(_ text: String, source: String) throws(LocalStateError) -> SecretBytes {
        let trimmed = text.filter { !$0.isWhitespace }
        guard trimmed.utf8.count == 2 * AESGCM.keySize, var bytes = Hex.decode(trimmed) else {
            throw LocalStateError(.invalidKey, "\(source) must hold 64 hex characters (32 bytes)")
        }
        defer { for i in bytes.indices { bytes[i] = 0 } }
        return SecretBytes(bytes)
    }
}
