import AtRestMessaging
import AtRestWire
import Glibc
import Logging

/// Everything the vault needs to start; a plain value with defaults so the
/// executable only fills in flags and tests build the same vault in-process.
public struct KeyVaultConfiguration: Sendable {
    /// Holds provider state, the vault state, the audit log and (by default) the root key.
    public var dataDirectory: String
    /// Where provider libraries are looked up; nil = `KeyVaultConfiguration.defaultPluginDirectory()`.
    public var pluginDirectory: String?
    /// The providers to load, in order. Loading stops start-up on the first failure.
    public var providers: [ProviderSpec]
    /// The root key as 64 hex characters; nil = `$ATREST_VAULT_ROOT_KEY`, then `rootKeyPath`.
    public var rootKeyHex: String?
    /// nil = `<dataDirectory>/root.key`, created (0600) on first start.
    public var rootKeyPath: String?
    /// Callers with this role manage keys and grants.
    public var adminRole: String
    /// Callers with this role (or the admin role) read and verify the audit log.
    public var auditorRole: String
    /// Callers with this role (the AtRest services) may create keys in
    /// `serviceProvider` and grant access on the keys they created, nothing
    /// else: the front door makes each account's managed key without being
    /// a key administrator.
    public var serviceRole: String = "service"
    public var serviceProvider: String = "managed"
    /// The tenant of the AtRest services and the system administrator: a
    /// caller with `adminRole` in this tenant may act on every tenant's keys
    /// (each such call is audited as crossing tenants); everyone else sees
    /// only its own tenant's keys.
    public var systemTenant: String = "system"
    /// The audit head anchor is rewritten after this many entries (and after every key-management operation).
    public var auditAnchorEvery: Int
    /// Seconds between `KeyStatusSummary` audit entries per caller and key:
    /// allowed `KeyStatus` checks with an unchanged answer are counted, not
    /// audited one by one (see `KeyStatusAudit`). 0 audits every check.
    public var keyStatusAuditInterval: Int64 = 900
    /// Unix seconds; injectable so tests can move time (rotation, expiry, retention).
    public var clock: @Sendable () -> Int64

    // What `KeyVaultServer` serves on (the `KeyVault` itself uses none of these).
    /// The RPC endpoint and the key-event PUB endpoint (tcp://127.0.0.1:* picks a free port).
    public var endpoint: String = DefaultEndpoints.vault
    public var eventsEndpoint: String = DefaultEndpoints.vaultEvents
    /// CURVE on both endpoints (nil: plain TCP, loopback development).
    public var curve: CurveServerConfiguration?
    /// Trusted token issuer; nil: the one the identity service publishes.
    public var issuer: String?
    public var audience: String = "atrest"
    /// Between rotation-policy sweeps (automatic rotation of due keys); at least 1 s.
    public var rotationCheckInterval: Duration = .seconds(3600)
    /// The length of a day of a key's rotation period, in seconds (86400);
    /// shorter only to test automatic rotation (`--rotation-day-seconds`).
    public var rotationDaySeconds: Int64 = 86_400
    public var logger = Logger(label: "atrest.keyvault")

    public init(
        dataDirectory: String, pluginDirectory: String? = nil,
        providers: [ProviderSpec] = [.managed(), .customer()],
        rootKeyHex: String? = nil, rootKeyPath: String? = nil,
        adminRole: String = "vault.admin", auditorRole: String = "vault.auditor",
        auditAnchorEvery: Int = 256,
        clock: @escaping @Sendable () -> Int64 = { Int64(time(nil)) }
    ) {
        self.dataDirectory = dataDirectory
        self.pluginDirectory = pluginDirectory
        self.providers = providers
        self.rootKeyHex = rootKeyHex
        self.rootKeyPath = rootKeyPath
        self.adminRole = adminRole
        self.auditorRole = auditorRole
        self.auditAnchorEvery = auditAnchorEvery
        self.clock = clock
    }

    /// `$ATREST_BIN_DIR` when set, else the directory of the running executable
    /// (SwiftPM puts `lib<Name>.so` next to the executables it builds).
    public static func defaultPluginDirectory() -> String {
        if let dir = getenv("ATREST_BIN_DIR"), dir.pointee != 0 { return String(cString: dir) }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return "." }
        let path = String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return String(path[..<slash])
    }
}

/// One provider to load: the name keys are addressed by, the library file,
/// its config string and (rarely) a non-standard entry symbol.
public struct ProviderSpec: Sendable, Equatable {
    /// The name in key references; also names the state file. Two specs may
    /// load the same library under different names with different configs.
    public var name: String
    /// A file name (looked up in the plug-in directory) or an absolute path.
    public var library: String
    /// `key=value;key=value`, passed to the provider's `open`.
    public var config: String
    /// The entry symbol; the standard one unless a library exports several tables.
    public var symbol: String

    public init(name: String, library: String, config: String = "", symbol: String = "atrest_key_provider_v1") {
        self.name = name
        self.library = library
        self.config = config
        self.symbol = symbol
    }

    public static func managed(config: String = "") -> ProviderSpec {
        ProviderSpec(name: "managed", library: "libKeyProviderManaged.so", config: config)
    }

    public static func customer(config: String = "") -> ProviderSpec {
        ProviderSpec(name: "customer", library: "libKeyProviderCustomer.so", config: config)
    }

    public static func revokedTest(config: String = "") -> ProviderSpec {
        ProviderSpec(name: "revoked-test", library: "libKeyProviderRevokedTest.so", config: config)
    }

    /// The C test provider (tests only).
    public static func cTest(config: String = "") -> ProviderSpec {
        ProviderSpec(name: "ctest", library: "libKeyProviderCTest.so", config: config)
    }

    /// The spec `--provider NAME` means: a shipped provider, or for any other
    /// name `libKeyProvider<Name>.so`, so a missing plug-in is reported by the
    /// loader with the file it looked for.
    public static func named(_ name: String, config: String = "") -> ProviderSpec {
        switch name {
        case "managed": return .managed(config: config)
        case "customer": return .customer(config: config)
        case "revoked-test": return .revokedTest(config: config)
        case "ctest": return .cTest(config: config)
        default: return ProviderSpec(name: name, library: "libKeyProvider\(name.prefix(1).uppercased() + name.dropFirst()).so", config: config)
        }
    }
}
