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
    /// The account's other keys (older versions, scopes, infrastructure layer);
    /// the fields above are its current key.
    public var keys: [AccountKeyEntry]

    public init(accountID: String, tenant: String, managedIdentity: String, wrappedKey: [UInt8], provider: String,
                keyID: String, keyVersion: UInt32, accountKeyVersion: UInt32, principalID: String, pool: String = "",
                keys: [AccountKeyEntry] = []) {
        self.pool = pool
        self.keys = keys
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
                  accountKeyVersion: wire.uint32(8), principalID: wire.string(9), pool: wire.string(10),
                  keys: try wire.messages(11))
    }

    public var wire: WireFields {
        [1: .string(accountID), 2: .string(tenant), 3: .string(managedIdentity), 4: .bytes(wrappedKey),
         5: .string(provider), 6: .string(keyID), 7: .uint(keyVersion), 8: .uint(accountKeyVersion),
         9: .string(principalID), 10: .string(pool), 11: .messages(keys)]
    }
}

/// One more key of an account (`atrest.v1.AccountKeyEntry`): an older
/// account-key version, a scope's key or the infrastructure layer's key.
/// `accountKeyVersion` is unique within the account (current key included)
/// and is what object headers record, so a reader needs nothing else.
public struct AccountKeyEntry: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.AccountKeyEntry"
    public var accountKeyVersion: UInt32
    public var wrappedKey: [UInt8]
    public var provider: String
    public var keyID: String
    public var keyVersion: UInt32
    /// "": the account's own chain; else the encryption scope's name.
    public var scope: String
    /// The second layer's service-held key (infrastructure encryption).
    public var infrastructure: Bool
    /// The key may not be used now (a disabled scope).
    public var disabled: Bool
    /// The wrapped bytes are the account's 32-byte name key, not an account
    /// key: it hashes names on disk and decrypts nothing (kept when the
    /// account's first version, which the name key comes from, is retired).
    public var namesOnly: Bool

    /// Part of the account's own key chain (an older version, or the names-only
    /// entry): not a scope's key, not the infrastructure layer's.
    public var isOwnChain: Bool { scope.isEmpty && !infrastructure }

    public init(accountKeyVersion: UInt32, wrappedKey: [UInt8], provider: String, keyID: String, keyVersion: UInt32,
                scope: String = "", infrastructure: Bool = false, disabled: Bool = false, namesOnly: Bool = false) {
        self.namesOnly = namesOnly
        self.accountKeyVersion = accountKeyVersion
        self.wrappedKey = wrappedKey
        self.provider = provider
        self.keyID = keyID
        self.keyVersion = keyVersion
        self.scope = scope
        self.infrastructure = infrastructure
        self.disabled = disabled
    }

    public init(wire: WireFields) throws {
        self.init(accountKeyVersion: wire.uint32(1), wrappedKey: wire.bytes(2), provider: wire.string(3),
                  keyID: wire.string(4), keyVersion: wire.uint32(5), scope: wire.string(6),
                  infrastructure: wire.bool(7), disabled: wire.bool(8), namesOnly: wire.bool(9))
    }

    public var wire: WireFields {
        [1: .uint(accountKeyVersion), 2: .bytes(wrappedKey), 3: .string(provider), 4: .string(keyID),
         5: .uint(keyVersion), 6: .string(scope), 7: .bool(infrastructure), 8: .bool(disabled), 9: .bool(namesOnly)]
    }
}
