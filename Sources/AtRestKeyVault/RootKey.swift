import AtRestCrypto
import Glibc

/// The vault root key: encrypts provider state and the vault state, and keys
/// the audit chain. From the config, else `$ATREST_VAULT_ROOT_KEY`, else a
/// 0600 file created at first start (64 hex characters).
enum RootKey {
    static let environmentVariable = "ATREST_VAULT_ROOT_KEY"

    static func load(_ config: KeyVaultConfig) throws(VaultError) -> SecretBytes {
        if let hex = config.rootKeyHex { return try parse(hex, source: "the configured root key") }
        if let env = getenv(environmentVariable), env.pointee != 0 {
            return try parse(String(cString: env), source: "$\(environmentVariable)")
        }
        let path = config.rootKeyPath ?? config.dataDirectory + "/root.key"
        return try loadOrCreate(path)
    }

    static func loadOrCreate(_ path: String) throws(VaultError) -> SecretBytes {
        var info = stat()
        if stat(path, &info) == 0 {
            guard info.st_mode & 0o077 == 0 else {
                throw VaultError(.invalidArgument, "root key file '\(path)' is readable by group or others (mode \(String(info.st_mode & 0o777, radix: 8))); run chmod 600 on it")
            }
            guard let bytes = try AtomicFile.read(path) else { throw AtomicFile.ioError("reading", path) }
            return try parse(String(decoding: bytes, as: UTF8.self), source: "root key file '\(path)'")
        }
        let key: SecretBytes
        do { key = try SecretBytes(randomCount: AESGCM.keySize) } catch {
            throw VaultError(.internal, "generating the root key failed: \(error)")
        }
        let hex = key.withUnsafeBytes { Hex.encode($0) } + "\n"
        try AtomicFile.write(Array(hex.utf8), to: path, mode: 0o600)
        return key
    }

    static func parse(_ text: String, source: String) throws(VaultError) -> SecretBytes {
        let trimmed = text.filter { !$0.isWhitespace }
        guard trimmed.utf8.count == 64, let bytes = Hex.decode(trimmed) else {
            throw VaultError(.invalidArgument, "\(source) must be 64 hex characters (32 bytes)")
        }
        return SecretBytes(bytes)
    }
}

/// Lower-case hex, for ids, hashes and the root key file.
enum Hex {
    static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes { out.append(digits[Int(byte >> 4)]); out.append(digits[Int(byte & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 2)
        var index = 0
        while index < chars.count {
            guard let high = nibble(chars[index]), let low = nibble(chars[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x61...0x66: c - 0x61 + 10
        case 0x41...0x46: c - 0x41 + 10
        default: nil
        }
    }
}
