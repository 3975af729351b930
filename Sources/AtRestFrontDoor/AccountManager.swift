import AtRestClient
import AtRestCrypto
import AtRestMessaging
import AtRestStorage
import AtRestTokens
import AtRestWire
import Logging

/// Creates accounts and changes which KEK wraps their account key.
///
/// Account creation, in order (a failure stops with the account absent; the
/// registry entry is written last):
/// 1. a managed identity for the account (identity service, as the front door's service principal);
/// 2. a `managed`-provider key for the account, wrap/unwrap granted to that identity only;
/// 3. a random 256-bit account key, generated and wrapped inside the vault (`GenerateWrappedKey`, as the
///    managed identity): the front door receives only the wrapped form and never holds the key in clear;
/// 4. the reference registered in the vault (so the key cannot be purged under stored data).
///
/// Changing the KEK (switch to a customer key and back, KEK rotation) re-wraps
/// the same account key: no data is re-encrypted, every object stays readable.
public final class AccountManager: Sendable {
    let registry: AccountRegistry
    let identity: RPCClient
    let vault: RPCClient
    let tokens: ServiceTokens
    let logger: Logger
    let now: @Sendable () -> Int64
    let storageClasses: StorageClasses
    public static let managedProvider = "managed"

    public init(registry: AccountRegistry, identity: RPCClient, vault: RPCClient, tokens: ServiceTokens,
                logger: Logger, now: @escaping @Sendable () -> Int64 = UnixClock.now, storageClasses: StorageClasses = .local) {
        self.storageClasses = storageClasses
        self.registry = registry
        self.identity = identity
        self.vault = vault
        self.tokens = tokens
        self.logger = logger
        self.now = now
    }

    static let accountRule = "account names are 3-63 characters of a-z, 0-9 and '-', starting with a letter or digit"

    static func checkAccountName(_ name: String) throws(RPCStatus) {
        let bytes = Array(name.utf8)
        guard (3...63).contains(bytes.count), bytes.first != 0x2D,
              bytes.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }) else {
            throw RPCStatus(.invalidArgument, "invalid account name '\(name.prefix(80))': \(accountRule)")
        }
    }

    public func create(_ accountID: String, redundancy: UInt32 = 0, infrastructureEncryption: Bool = false,
                       owner claims: TokenClaims) async throws -> AccountRecord {
        try Self.checkAccountName(accountID)
        let storage: StorageClass
        do { storage = try storageClasses.choose(redundancy: redundancy) } catch { throw RPCStatus(.invalidArgument, error.message) }
        // A purged account's id may be created again (a new key, so new names on disk).
        guard try await registry.lookup(accountID).map({ $0.info.state == AccountState.purged }) ?? true else {
            throw RPCStatus(.alreadyExists, "account '\(accountID)' already exists")
        }
        let identityReply: IdentityManagedIdentity
        do {
            identityReply = try await serviceIdentityClient().createManagedIdentity(account: accountID, tenant: claims.tenant)
        } catch let status as RPCStatus where status.code == .alreadyExists {
            // A purged id kept by another tenant: its name is taken; which tenant holds it is not the caller's to learn.
            throw RPCStatus(.alreadyExists, "account '\(accountID)' already exists")
        }
        let managedKey = try await newManagedKey(tenant: claims.tenant, identity: identityReply.principalID)
        let wrapped = try await generateWrappedKey(with: managedKey, account: accountID)
        try await register(wrapped.key)
        let infrastructure = infrastructureEncryption
            ? try await newInfrastructureKey(tenant: claims.tenant, identity: identityReply.principalID, account: accountID) : nil
        let info = AccountInfo(
            accountID: accountID, tenant: claims.tenant, managedIdentity: identityReply.principalID, createdAtUnix: now(),
            encryption: AccountEncryption(keySource: AccountEncryption.managed, provider: wrapped.key.provider,
                                          keyID: wrapped.key.keyID, keyVersion: wrapped.key.version, changedAtUnix: now()),
            owners: [claims.subject], redundancy: storage.copies, pool: storage.pool, infrastructureEncryption: infrastructureEncryption)
        var record = AccountRecord(info: info, wrappedKey: wrapped.wrapped, registered: wrapped.key, managedKeyID: managedKey.keyID)
        if let infrastructure { record.addInfrastructureKey(infrastructure) }
        try await registry.update(accountID) { existing in
            guard existing.map({ $0.info.state == AccountState.purged }) ?? true else {
                throw RPCStatus(.alreadyExists, "account '\(accountID)' already exists")
            }
            return record
        }
        logger.info("account created", metadata: ["account": "\(accountID)", "owner": "\(claims.subject)", "storage": "\(storage)"])
        return record
    }

    /// Has the vault generate a new account key and wrap it with the current
    /// version of `kek`, calling as the account's managed identity. Only the
    /// wrapped form comes back: the front door has no use for the plaintext.
    func generateWrappedKey(with kek: KeyRef, account: String) async throws -> WrapResponse {
        try await identityVaultClient(account: account).generateWrappedKey(with: kek.unversioned, context: AccountWrapContext.bytes(account: account))
    }

    /// The identity service as the front door's own service principal.
    func serviceIdentityClient() async throws -> IdentityClient {
        let token = try await tokens.serviceToken()
        return IdentityClient(ServiceClient(rpc: identity, token: token.token, timeout: .seconds(10)))
    }

    /// The vault as the front door's own service principal.
    func serviceVaultClient() async throws -> VaultClient {
        let token = try await tokens.serviceToken()
        return VaultClient(ServiceClient(rpc: vault, token: token.token, timeout: .seconds(10)))
    }

    /// The vault as the account's managed identity (what wraps and unwraps its key).
    func identityVaultClient(account: String) async throws -> VaultClient {
        let token = try await tokens.managedIdentityToken(account: account)
        return VaultClient(ServiceClient(rpc: vault, token: token.token, timeout: .seconds(10)))
    }

    /// Reference counts are the front door's alone (the vault takes them only
    /// from a service): it is the component that knows which accounts use which key.
    func register(_ key: KeyRef) async throws {
        _ = try await serviceVaultClient().registerReference(key)
    }

    func unregister(_ key: KeyRef) async {
        guard !key.provider.isEmpty else { return }
        do {
            _ = try await serviceVaultClient().unregisterReference(key)
        } catch {
            logger.notice("could not unregister a key reference", metadata: ["key": "\(key)", "error": "\(error)"])
        }
    }
}
