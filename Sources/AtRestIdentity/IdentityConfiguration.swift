import AtRestCrypto
import AtRestLoginGate
import AtRestMessaging
import AtRestTokens
import AtRestWire
import Logging

/// Configuration of the identity service; every field has a default, so an
/// executable only sets what its flags change.
public struct IdentityConfiguration: Sendable {
    /// Where `IdentityServer` binds (tcp://127.0.0.1:* picks a free port).
    public var endpoint: String = DefaultEndpoints.identity
    /// CURVE on the endpoint (nil: plain TCP, loopback development).
    public var curve: CurveServerConfiguration?
    public var logger = Logger(label: "atrest.identity")
    /// Holds `identity.state`, `root.key` (unless configured elsewhere) and `credentials/`.
    public var dataDirectory: String
    /// The `iss` of every token; verifiers must be configured with the same value.
    public var issuer: String = "atrest-identity"
    /// The `aud` of every token (the AtRest services as a whole).
    public var audience: String = "atrest"
    public var tokenLifetimeSeconds: Int64 = 3600
    /// Tolerance for clock differences when checking exp/nbf/iat.
    public var clockSkewSeconds: Int64 = 60
    /// The root key file (32 raw bytes, 0600); nil: `<dataDirectory>/root.key`.
    public var rootKeyPath: String?
    /// When this environment variable is set, it holds the root key (64 hex characters) and the file is not used.
    public var rootKeyEnvironmentVariable: String? = "ATREST_IDENTITY_ROOT_KEY"
    /// The bootstrap administrator, a principal in the system tenant with `identityAdministrator`.
    public var adminName: String = "admin"
    /// The admin's secret; nil: generated at first start into `<dataDirectory>/credentials/admin.secret` (0600).
    public var adminSecret: String?
    /// Service principals ensured at every start (system tenant, role `service`).
    public var servicePrincipals: [ServicePrincipalSpec] = []
    /// PBKDF2 cost for new secret hashes (tests lower it; production keeps the default).
    public var passwordIterations: UInt32 = PasswordHash.defaultIterations
    public var loginThrottle: LoginThrottle.Policy = .init()
    /// How many logins may hash at once (forwarded by the front door, per connection, direct).
    public var loginGate: LoginGate.Policy = .init()
    /// Seconds since the epoch; injectable so tests can move time.
    public var now: @Sendable () -> Int64 = UnixClock.now

    public init(dataDirectory: String) {
        self.dataDirectory = dataDirectory
    }

    var resolvedRootKeyPath: String { rootKeyPath ?? "\(dataDirectory)/root.key" }
    var statePath: String { "\(dataDirectory)/identity.state" }
    var credentialsDirectory: String { "\(dataDirectory)/credentials" }
}

/// A service principal to create at start-up if it does not exist yet.
public struct ServicePrincipalSpec: Sendable {
    public var name: String
    /// nil: generated into `<dataDirectory>/credentials/<name>.secret` (0600) at first start.
    public var secret: String?

    public init(name: String, secret: String? = nil) {
        self.name = name
        self.secret = secret
    }
}
