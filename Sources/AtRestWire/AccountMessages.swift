// Swift types of proto/atrest/v1/account.proto (the Account service and the
// context the front door attaches to data-plane calls). AccountRecord lives
// with the front door, which alone persists it.

public struct AccountCreateRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.AccountCreateRequest"
    public var accountID: String
    /// Copies of every object; 0: the deployment's default.
    public var redundancy: UInt32
    /// Seal everything a second time under an independent service-held key (fixed at creation).
    public var infrastructureEncryption: Bool
    public init(accountID: String, redundancy: UInt32 = 0, infrastructureEncryption: Bool = false) {
        self.accountID = accountID; self.redundancy = redundancy; self.infrastructureEncryption = infrastructureEncryption
    }
    public init(wire: WireFields) throws {
        self.init(accountID: wire.string(1), redundancy: wire.uint32(2), infrastructureEncryption: wire.bool(3))
    }
    public var wire: WireFields { [1: .string(accountID), 2: .uint(redundancy), 3: .bool(infrastructureEncryption)] }
}

public struct AccountRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.AccountRequest"
    public var accountID: String
    public init(accountID: String) { self.accountID = accountID }
    public init(wire: WireFields) throws { self.init(accountID: wire.string(1)) }
    public var wire: WireFields { [1: .string(accountID)] }
}

public struct AccountListRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.AccountListRequest"
    public init() {}
    public init(wire: WireFields) throws {}
    public var wire: WireFields { [:] }
}

/// What protects an account's data: the KEK wrapping its account key.
public struct AccountEncryption: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.AccountEncryption"
    public static let managed = "managed"
    public static let customer = "customer"
    public static let algorithmName = "AES-256-GCM"

    public var keySource: String
    public var provider: String
    public var keyID: String
    public var keyVersion: UInt32
    public var changedAtUnix: Int64
    public var accountKeyVersion: UInt32
    public var algorithm: String

    public init(keySource: String, provider: String, keyID: String, keyVersion: UInt32, changedAtUnix: Int64,
                accountKeyVersion: UInt32 = 1, algorithm: String = AccountEncryption.algorithmName) {
        self.keySource = keySource
        self.provider = provider
        self.keyID = keyID
        self.keyVersion = keyVersion
        self.changedAtUnix = changedAtUnix
        self.accountKeyVersion = accountKeyVersion
        self.algorithm = algorithm
    }

    public init(wire: WireFields) throws {
        self.init(keySource: wire.string(1), provider: wire.string(2), keyID: wire.string(3), keyVersion: wire.uint32(4),
                  changedAtUnix: wire.int64(5), accountKeyVersion: wire.uint32(6), algorithm: wire.string(7))
    }

    public var wire: WireFields {
        [1: .string(keySource), 2: .string(provider), 3: .string(keyID), 4: .uint(keyVersion), 5: .int(changedAtUnix),
         6: .uint(accountKeyVersion), 7: .string(algorithm)]
    }
}

public struct AccountInfo: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.AccountInfo"
    public var accountID: String
    public var tenant: String
    public var managedIdentity: String
    public var createdAtUnix: Int64
    public var encryption: AccountEncryption
    public var owners: [String]
    /// Copies of every object (0 in records older than redundancy: one copy, the default pool).
    public var redundancy: UInt32
    /// The Ceph pool of the account's objects; "" for the local directory (or the default pool of older records).
    public var pool: String
    /// Account key versions of the account's own chain that data may be
    /// under, current included (empty in records that never rotated: only the current one).
    public var accountKeyVersions: [UInt32] = []
    /// Infrastructure (double) encryption: a second layer under an independent service-held key.
    public var infrastructureEncryption: Bool

    /// `active` ("" in older records), `deleted` or `purged` (`AccountState`).
    public var state: String
    /// When it was deleted, Unix seconds (0: never).
    public var deletedAtUnix: Int64
    /// When its account key is (or was) destroyed, Unix seconds (0: not deleted).
    public var purgeAfterUnix: Int64
    /// The re-encryption job (from the registry record), nil when none ever ran.
    public var reencryptJob: ReencryptJob?
    /// Own-chain versions retired (`Account/RetireVersions`).
    public var retiredAccountKeyVersions: [UInt32] = []

    public init(accountID: String, tenant: String, managedIdentity: String, createdAtUnix: Int64,
                encryption: AccountEncryption, owners: [String], redundancy: UInt32 = 0, pool: String = "",
                infrastructureEncryption: Bool = false,
                state: String = "", deletedAtUnix: Int64 = 0, purgeAfterUnix: Int64 = 0) {
        self.infrastructureEncryption = infrastructureEncryption
        self.state = state
        self.deletedAtUnix = deletedAtUnix
        self.purgeAfterUnix = purgeAfterUnix
        self.accountID = accountID
        self.tenant = tenant
        self.managedIdentity = managedIdentity
        self.createdAtUnix = createdAtUnix
        self.encryption = encryption
        self.owners = owners
        self.redundancy = redundancy
        self.pool = pool
    }

    public init(wire: WireFields) throws {
        self.init(accountID: wire.string(1), tenant: wire.string(2), managedIdentity: wire.string(3),
                  createdAtUnix: wire.int64(4),
                  encryption: try wire.message(5) ?? AccountEncryption(keySource: "", provider: "", keyID: "", keyVersion: 0, changedAtUnix: 0),
                  owners: wire.strings(6), redundancy: wire.uint32(7), pool: wire.string(8),
                  infrastructureEncryption: wire.bool(9),
                  state: wire.string(10), deletedAtUnix: wire.int64(11), purgeAfterUnix: wire.int64(12))
        accountKeyVersions = wire.list(13).compactMap { if case .uint(let v) = $0 { UInt32(truncatingIfNeeded: v) } else { nil } }
        reencryptJob = try wire.message(14)
        retiredAccountKeyVersions = wire.list(15).compactMap { if case .uint(let v) = $0 { UInt32(truncatingIfNeeded: v) } else { nil } }
    }

    public var wire: WireFields {
        var fields: WireFields = [
            1: .string(accountID), 2: .string(tenant), 3: .string(managedIdentity), 4: .int(createdAtUnix),
            5: WireValue(encryption), 6: .strings(owners), 7: .uint(redundancy), 8: .string(pool), 9: .bool(infrastructureEncryption),
            10: .string(state), 11: .int(deletedAtUnix), 12: .int(purgeAfterUnix), 13: .list(accountKeyVersions.map { .uint($0) }),
            15: .list(retiredAccountKeyVersions.map { .uint($0) }),
        ]
        if let reencryptJob { fields.values[14] = WireValue(reencryptJob) }
        return fields
    }
}

/// `Account/Move`: the account (with its managed identity and managed key) goes to `tenant`.
public struct AccountMoveRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.AccountMoveRequest"
    public var accountID: String
    public var tenant: String
    public init(accountID: String, tenant: String) { self.accountID = accountID; self.tenant = tenant }
    public init(wire: WireFields) throws { self.init(accountID: wire.string(1), tenant: wire.string(2)) }
    public var wire: WireFields { [1: .string(accountID), 2: .string(tenant)] }
}

public struct AccountMoveResponse: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.AccountMoveResponse"
    public var account: AccountInfo
    public var previousTenant: String
    /// What the move means for grants made in the old tenant, and the repair.
    public var notice: String
    public init(account: AccountInfo, previousTenant: String, notice: String) {
        self.account = account
        self.previousTenant = previousTenant
        self.notice = notice
    }
    public init(wire: WireFields) throws {
        guard let account: AccountInfo = try wire.message(1) else { throw WireError(.invalidField, "move response without account") }
        self.init(account: account, previousTenant: wire.string(2), notice: wire.string(3))
    }
    public var wire: WireFields { [1: WireValue(account), 2: .string(previousTenant), 3: .string(notice)] }
}

public struct AccountListResponse: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.AccountListResponse"
    public var accounts: [AccountInfo]
    public init(accounts: [AccountInfo]) { self.accounts = accounts }
    public init(wire: WireFields) throws { self.init(accounts: try wire.messages(1)) }
    public var wire: WireFields { [1: .messages(accounts)] }
}

public struct AccountSetEncryptionRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.AccountSetEncryptionRequest"
    public var accountID: String
    public var keySource: String
    public var provider: String
    public var keyID: String

    public init(accountID: String, keySource: String, provider: String = "", keyID: String = "") {
        self.accountID = accountID
        self.keySource = keySource
        self.provider = provider
        self.keyID = keyID
    }

    public init(wire: WireFields) throws {
        self.init(accountID: wire.string(1), keySource: wire.string(2), provider: wire.string(3), keyID: wire.string(4))
    }

    public var wire: WireFields { [1: .string(accountID), 2: .string(keySource), 3: .string(provider), 4: .string(keyID)] }
}
