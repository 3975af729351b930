/// The account a data-plane call runs for, attached by the front door as
/// `RPCHeader.accountContext` (`RpcHeader.account_context`). Workers trust it
/// because only the front door reaches them; the front door drops a client's
/// value from every request first.
public struct AccountContext: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.AccountContext"
    /// Where clients name the account of a data-plane call.
    public static let accountMetadataKey = "account"

    public var accountID: String
    public var tenant: String
    public var managedIdentity: String
    public var wrappedKey: [UInt8]
    public var provider: String
    public var keyID: String
    public var keyVersion: UInt32
    public var accountKeyVersion: UInt32
    public var principalID: String
    /// The storage pool of the account's objects ("": the worker's default).
    public var pool: String

    public init(accountID: String, tenant: String, managedIdentity: String, wrappedKey: [UInt8], provider: String,
                keyID: String, keyVersion: UInt32, accountKeyVersion: UInt32, principalID: String, pool: String = "") {
        self.pool = pool
        self.accountID = accountID
        self.tenant = tenant
        self.managedIdentity = managedIdentity
        self.wrappedKey = wrappedKey
        self.provider = provider
        self.keyID = keyID
        self.keyVersion = keyVersion
        self.accountKeyVersion = accountKeyVersion
        self.principalID = principalID
    }

    public init(wire: WireFields) throws {
        self.init(accountID: wire.string(1), tenant: wire.string(2), managedIdentity: wire.string(3),
                  wrappedKey: wire.bytes(4), provider: wire.string(5), keyID: wire.string(6), keyVersion: wire.uint32(7),
                  accountKeyVersion: wire.uint32(8), principalID: wire.string(9), pool: wire.string(10))
    }

    public var wire: WireFields {
        [1: .string(accountID), 2: .string(tenant), 3: .string(managedIdentity), 4: .bytes(wrappedKey),
         5: .string(provider), 6: .string(keyID), 7: .uint(keyVersion), 8: .uint(accountKeyVersion),
         9: .string(principalID), 10: .string(pool)]
    }
}
