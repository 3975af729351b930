// Swift types of the encryption-scope messages of proto/atrest/v1/account.proto
// (`Account/CreateScope|GetScope|ListScopes|DisableScope|EnableScope`).

/// An encryption scope (`atrest.v1.EncryptionScope`): a named key choice inside
/// an account with an account key of its own, numbered `accountKeyVersion`
/// in the account's key numbering (what object headers record).
public struct EncryptionScope: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.EncryptionScope"
    public static let enabled = "enabled"
    public static let disabled = "disabled"
    /// What scope names may be.
    public static let nameRule = "scope names are 3-63 characters of a-z, 0-9 and '-', starting with a letter or digit"

    public var name: String
    /// "managed" or "customer" (`AccountEncryption.managed`/`.customer`).
    public var keySource: String
    public var provider: String
    public var keyID: String
    /// `enabled` or `disabled`.
    public var state: String
    public var createdAtUnix: Int64
    public var accountKeyVersion: UInt32
    /// The KEK version wrapping the scope key now.
    public var keyVersion: UInt32

    public init(name: String, keySource: String, provider: String, keyID: String, state: String = EncryptionScope.enabled,
                createdAtUnix: Int64, accountKeyVersion: UInt32, keyVersion: UInt32) {
        self.name = name
        self.keySource = keySource
        self.provider = provider
        self.keyID = keyID
        self.state = state
        self.createdAtUnix = createdAtUnix
        self.accountKeyVersion = accountKeyVersion
        self.keyVersion = keyVersion
    }

    public init(wire: WireFields) throws {
        self.init(name: wire.string(1), keySource: wire.string(2), provider: wire.string(3), keyID: wire.string(4),
                  state: wire.string(5), createdAtUnix: wire.int64(6), accountKeyVersion: wire.uint32(7), keyVersion: wire.uint32(8))
    }

    public var wire: WireFields {
        [1: .string(name), 2: .string(keySource), 3: .string(provider), 4: .string(keyID), 5: .string(state),
         6: .int(createdAtUnix), 7: .uint(accountKeyVersion), 8: .uint(keyVersion)]
    }

    /// True when `name` follows `nameRule` (the account name rule).
    public static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        return (3...63).contains(bytes.count) && bytes.first != 0x2D
            && bytes.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
    }
}

/// `Account/CreateScope`.
public struct AccountScopeCreateRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.AccountScopeCreateRequest"
    public var accountID: String
    public var scope: String
    public var keySource: String
    public var provider: String
    public var keyID: String

    public init(accountID: String, scope: String, keySource: String, provider: String = "", keyID: String = "") {
        self.accountID = accountID
        self.scope = scope
        self.keySource = keySource
        self.provider = provider
        self.keyID = keyID
    }

    public init(wire: WireFields) throws {
        self.init(accountID: wire.string(1), scope: wire.string(2), keySource: wire.string(3), provider: wire.string(4),
                  keyID: wire.string(5))
    }

    public var wire: WireFields {
        [1: .string(accountID), 2: .string(scope), 3: .string(keySource), 4: .string(provider), 5: .string(keyID)]
    }
}

/// `Account/GetScope|DisableScope|EnableScope`.
public struct AccountScopeRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.AccountScopeRequest"
    public var accountID: String
    public var scope: String
    public init(accountID: String, scope: String) { self.accountID = accountID; self.scope = scope }
    public init(wire: WireFields) throws { self.init(accountID: wire.string(1), scope: wire.string(2)) }
    public var wire: WireFields { [1: .string(accountID), 2: .string(scope)] }
}

/// `Account/ListScopes`.
public struct AccountScopeListResponse: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.AccountScopeListResponse"
    public var scopes: [EncryptionScope]
    public init(scopes: [EncryptionScope]) { self.scopes = scopes }
    public init(wire: WireFields) throws { self.init(scopes: try wire.messages(1)) }
    public var wire: WireFields { [1: .messages(scopes)] }
}
