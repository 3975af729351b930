import AtRestCrypto
import AtRestLocalState
import AtRestWire
import Glibc

/// The vault root key: encrypts provider state and the vault state, and keys
/// the audit chain. From the config, else `$ATREST_VAULT_ROOT_KEY`, else a
/// 0600 file created at first start (64 hex characters).
enum RootKey {
    static let environmentVariable = "ATREST_VAULT_ROOT_KEY"

    static func load(_ config: KeyVaultConfiguration) throws(VaultError) -> SecretBytes {
        if let hex = config.rootKeyHex { return try parse(hex, source: "the configured root key") }
        if let env = getenv(environmentVariable), env.pointee != 0 {
            return try parse(String(cString: env), source: "$\(environmentVariable)")
        }
        let path = config.rootKeyPath ?? config.dataDirectory + "/root.key"
        return try loadOrCreate(path)
    }

    static func loadOrCreate(_ path: String) throws(VaultError) -> SecretBytes {
        try vaulted { () throws(LocalStateError) in
            try RootKeyFile.resolve(path: path, environmentVariable: nil, mayCreate: true, service: "vault")
        }
    }

    static func parse(_ text: String, source: String) throws(VaultError) -> SecretBytes {
        try vaulted { () throws(LocalStateError) in try RootKeyFile.parse(text, source: source) }
    }
}

/// Runs a local-state operation, reporting its failure as a `VaultError`.
func vaulted<T>(_ body: () throws(LocalStateError) -> T) throws(VaultError) -> T {
    do {
        return try body()
    } catch {
        let code: VaultError.Code = switch error.code {
        case .io: .io
        case .corrupt: .corrupt
        default: .invalidArgument
        }
        throw VaultError(code, error.message)
    }
}
