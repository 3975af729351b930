import AtRestWire

/// One account as the front door persists it (`atrest.v1.AccountRecord`).
public struct AccountRecord: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.AccountRecord"
    public var info: AccountInfo
    /// The account key wrapped by the KEK in `info.encryption`.
    public var wrappedKey: [UInt8]
    /// The key version registered as referenced in the vault (empty provider: none).
    public var registered: KeyRef
    /// The account's own managed-provider key (what "back to managed" returns to).
    public var managedKeyID: String
    /// The account's other keys: older versions, scope keys, the
    /// infrastructure layer's key (sent to workers as `AccountContext.keys`).
    public var keys: [AccountKeyEntry]
    /// The highest account key version ever given out here (see `allocateAccountKeyVersion`).
    public var lastAccountKeyVersion: UInt32
    /// The account's encryption scopes; each one's key is the entry of
    /// `keys` whose `scope` is its name (AccountRecord+Scopes).
    public var scopes: [EncryptionScope] = []
    /// The re-encryption job (AccountReencryptJob), nil when none ever started.
    public var reencryptJob: ReencryptJob?
    /// Own-chain versions whose wrapped keys were deleted (`retireVersions`).
    public var retiredAccountKeyVersions: [UInt32] = []

    public init(info: AccountInfo, wrappedKey: [UInt8], registered: KeyRef, managedKeyID: String,
                keys: [AccountKeyEntry] = [], lastAccountKeyVersion: UInt32 = 0) {
        self.keys = keys
        self.lastAccountKeyVersion = lastAccountKeyVersion
        self.info = info
        self.wrappedKey = wrappedKey
        self.registered = registered
        self.managedKeyID = managedKeyID
    }

    public init(wire: WireFields) throws {
        guard let info: AccountInfo = try wire.message(1) else { throw WireError(.invalidField, "account record without info") }
        self.init(info: info, wrappedKey: wire.bytes(2), registered: try wire.message(3) ?? KeyRef(provider: "", keyID: ""),
                  managedKeyID: wire.string(4), keys: try wire.messages(5), lastAccountKeyVersion: wire.uint32(6))
        scopes = try wire.messages(7)
        reencryptJob = try wire.message(13)
        retiredAccountKeyVersions = wire.list(14).compactMap { if case .uint(let v) = $0 { UInt32(truncatingIfNeeded: v) } else { nil } }
    }

    public var wire: WireFields {
        var fields: WireFields = [1: WireValue(info), 2: .bytes(wrappedKey), 3: WireValue(registered), 4: .string(managedKeyID),
                                  5: .messages(keys), 6: .uint(lastAccountKeyVersion), 7: .messages(scopes),
                                  14: .list(retiredAccountKeyVersions.map { .uint($0) })]
        if let reencryptJob { fields.values[13] = WireValue(reencryptJob) }
        return fields
    }

    /// A new account key version, never given out before in this account
    /// (records of earlier releases have no counter: their numbers in use
    /// are the current key's and the entries').
    mutating func allocateAccountKeyVersion() -> UInt32 {
        let used = keys.map(\.accountKeyVersion) + [info.encryption.accountKeyVersion, lastAccountKeyVersion]
        lastAccountKeyVersion = (used.max() ?? 0) + 1
        return lastAccountKeyVersion
    }

    /// The context attached to this account's data-plane calls.
    func context(principal: String) -> AccountContext {
        let e = info.encryption
        return AccountContext(accountID: info.accountID, tenant: info.tenant, managedIdentity: info.managedIdentity,
                              wrappedKey: wrappedKey, provider: e.provider, keyID: e.keyID, keyVersion: e.keyVersion,
                              accountKeyVersion: e.accountKeyVersion, principalID: principal, pool: info.pool, keys: keys)
    }
}

struct AccountRegistryState: Sendable, WireMessage {
    static let protoName = "atrest.v1.AccountRegistryState"
    var accounts: [AccountRecord]
    init(accounts: [AccountRecord]) { self.accounts = accounts }
    init(wire: WireFields) throws { self.init(accounts: try wire.messages(1)) }
    var wire: WireFields { [1: .messages(accounts)] }
}
