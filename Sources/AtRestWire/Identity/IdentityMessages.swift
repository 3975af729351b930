// Swift value types for proto/atrest/v1/identity.proto, one per message.
// Field numbers match the proto; see its header comment for the method table.

/// Client-credential login (`atrest.v1.IdentityLoginRequest`).
public struct IdentityLoginRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.IdentityLoginRequest"
    /// Empty means the system tenant (services, the bootstrap admin).
    public var tenant: String
    /// The principal's name in its tenant, or its principal id.
    public var clientID: String
    public var secret: String

    public init(tenant: String = "", clientID: String, secret: String) {
        self.tenant = tenant
        self.clientID = clientID
        self.secret = secret
    }

    public init(wire: WireFields) throws {
        self.init(tenant: wire.string(1), clientID: wire.string(2), secret: wire.string(3))
    }

    public var wire: WireFields { [1: .string(tenant), 2: .string(clientID), 3: .string(secret)] }
}

/// A signed token and what it says (`atrest.v1.IdentityToken`).
public struct IdentityToken: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.IdentityToken"
    public var token: String
    public var tokenType: String
    public var expiresAtUnix: Int64
    public var principalID: String
    public var tenant: String

    public init(token: String, tokenType: String = "Bearer", expiresAtUnix: Int64, principalID: String, tenant: String) {
        self.token = token
        self.tokenType = tokenType
        self.expiresAtUnix = expiresAtUnix
        self.principalID = principalID
        self.tenant = tenant
    }

    public init(wire: WireFields) throws {
        self.init(token: wire.string(1), tokenType: wire.string(2), expiresAtUnix: wire.int64(3),
                  principalID: wire.string(4), tenant: wire.string(5))
    }

    public var wire: WireFields {
        [1: .string(token), 2: .string(tokenType), 3: .int(expiresAtUnix), 4: .string(principalID), 5: .string(tenant)]
    }
}

/// One published verification key (`atrest.v1.IdentitySigningKey`), JWK-shaped.
public struct IdentitySigningKey: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.IdentitySigningKey"
    public var kid: String
    public var alg: String
    public var kty: String
    public var crv: String
    /// The raw public key, unpadded base64url.
    public var x: String
    /// 0 for the active key; otherwise when the last token signed by it expires.
    public var publishedUntilUnix: Int64

    public init(kid: String, x: String, publishedUntilUnix: Int64 = 0,
                alg: String = "EdDSA", kty: String = "OKP", crv: String = "Ed25519") {
        self.kid = kid
        self.alg = alg
        self.kty = kty
        self.crv = crv
        self.x = x
        self.publishedUntilUnix = publishedUntilUnix
    }

    public init(wire: WireFields) throws {
        self.init(kid: wire.string(1), x: wire.string(5), publishedUntilUnix: wire.int64(6),
                  alg: wire.string(2), kty: wire.string(3), crv: wire.string(4))
    }

    public var wire: WireFields {
        [1: .string(kid), 2: .string(alg), 3: .string(kty), 4: .string(crv), 5: .string(x), 6: .int(publishedUntilUnix)]
    }
}

/// The published key set (`atrest.v1.IdentityKeySet`): what offline verifiers need.
public struct IdentityKeySet: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.IdentityKeySet"
    public var keys: [IdentitySigningKey]
    public var issuer: String
    public var activeKid: String

    public init(keys: [IdentitySigningKey], issuer: String, activeKid: String) {
        self.keys = keys
        self.issuer = issuer
        self.activeKid = activeKid
    }

    public init(wire: WireFields) throws {
        let keys = try wire.list(1).map { item -> IdentitySigningKey in
            guard case .message(let fields) = item else { throw WireError(.malformed, "IdentityKeySet.keys holds a non-message") }
            return try IdentitySigningKey(wire: fields)
        }
        self.init(keys: keys, issuer: wire.string(2), activeKid: wire.string(3))
    }

    public var wire: WireFields { [1: .messages(keys), 2: .string(issuer), 3: .string(activeKid)] }
}

/// Who the caller's token says it is (`atrest.v1.IdentityWhoAmI`).
public struct IdentityWhoAmI: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.IdentityWhoAmI"
    public var principalID: String
    public var tenant: String
    public var roles: [String]
    public var kind: String
    public var name: String
    public var issuer: String
    public var audience: String
    public var expiresAtUnix: Int64
    public var tokenID: String
    public var accountID: String

    public init(principalID: String, tenant: String, roles: [String], kind: String, name: String, issuer: String,
                audience: String, expiresAtUnix: Int64, tokenID: String, accountID: String) {
        self.principalID = principalID
        self.tenant = tenant
        self.roles = roles
        self.kind = kind
        self.name = name
        self.issuer = issuer
        self.audience = audience
        self.expiresAtUnix = expiresAtUnix
        self.tokenID = tokenID
        self.accountID = accountID
    }

    public init(wire: WireFields) throws {
        self.init(principalID: wire.string(1), tenant: wire.string(2), roles: wire.strings(3), kind: wire.string(4),
                  name: wire.string(5), issuer: wire.string(6), audience: wire.string(7),
                  expiresAtUnix: wire.int64(8), tokenID: wire.string(9), accountID: wire.string(10))
    }

    public var wire: WireFields {
        [1: .string(principalID), 2: .string(tenant), 3: .strings(roles), 4: .string(kind), 5: .string(name),
         6: .string(issuer), 7: .string(audience), 8: .int(expiresAtUnix), 9: .string(tokenID), 10: .string(accountID)]
    }
}
