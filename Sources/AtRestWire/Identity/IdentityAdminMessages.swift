// Admin-method messages of proto/atrest/v1/identity.proto.

public struct IdentityCreateTenantRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.IdentityCreateTenantRequest"
    public var tenant: String
    public var displayName: String

    public init(tenant: String, displayName: String = "") {
        self.tenant = tenant
        self.displayName = displayName
    }

    public init(wire: WireFields) throws { self.init(tenant: wire.string(1), displayName: wire.string(2)) }
    public var wire: WireFields { [1: .string(tenant), 2: .string(displayName)] }
}

public struct IdentityTenant: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.IdentityTenant"
    public var tenant: String
    public var displayName: String
    public var createdAtUnix: Int64

    public init(tenant: String, displayName: String, createdAtUnix: Int64) {
        self.tenant = tenant
        self.displayName = displayName
        self.createdAtUnix = createdAtUnix
    }

    public init(wire: WireFields) throws {
        self.init(tenant: wire.string(1), displayName: wire.string(2), createdAtUnix: wire.int64(3))
    }

    public var wire: WireFields { [1: .string(tenant), 2: .string(displayName), 3: .int(createdAtUnix)] }
}

public struct IdentityCreateUserRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.IdentityCreateUserRequest"
    public var tenant: String
    public var name: String
    /// Empty: the service generates one and returns it once.
    public var secret: String

    public init(tenant: String, name: String, secret: String = "") {
        self.tenant = tenant
        self.name = name
        self.secret = secret
    }

    public init(wire: WireFields) throws { self.init(tenant: wire.string(1), name: wire.string(2), secret: wire.string(3)) }
    public var wire: WireFields { [1: .string(tenant), 2: .string(name), 3: .string(secret)] }
}

public struct IdentityCreateServicePrincipalRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.IdentityCreateServicePrincipalRequest"
    public var name: String
    public var secret: String

    public init(name: String, secret: String = "") {
        self.name = name
        self.secret = secret
    }

    public init(wire: WireFields) throws { self.init(name: wire.string(1), secret: wire.string(2)) }
    public var wire: WireFields { [1: .string(name), 2: .string(secret)] }
}

public struct IdentityPrincipal: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.IdentityPrincipal"
    public var principalID: String
    public var kind: String
    public var tenant: String
    public var name: String
    public var roles: [String]
    public var accountID: String
    public var createdAtUnix: Int64

    public init(principalID: String, kind: String, tenant: String, name: String, roles: [String],
                accountID: String, createdAtUnix: Int64) {
        self.principalID = principalID
        self.kind = kind
        self.tenant = tenant
        self.name = name
        self.roles = roles
        self.accountID = accountID
        self.createdAtUnix = createdAtUnix
    }

    public init(wire: WireFields) throws {
        self.init(principalID: wire.string(1), kind: wire.string(2), tenant: wire.string(3), name: wire.string(4),
                  roles: wire.strings(5), accountID: wire.string(6), createdAtUnix: wire.int64(7))
    }

    public var wire: WireFields {
        [1: .string(principalID), 2: .string(kind), 3: .string(tenant), 4: .string(name), 5: .strings(roles),
         6: .string(accountID), 7: .int(createdAtUnix)]
    }
}

public struct IdentityCreatedPrincipal: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.IdentityCreatedPrincipal"
    public var principal: IdentityPrincipal
    /// Set only when the service generated the secret.
    public var generatedSecret: String

    public init(principal: IdentityPrincipal, generatedSecret: String) {
        self.principal = principal
        self.generatedSecret = generatedSecret
    }

    public init(wire: WireFields) throws {
        guard let principal = try wire.message(1, as: IdentityPrincipal.self) else {
            throw WireError(.invalidField, "IdentityCreatedPrincipal.principal is missing")
        }
        self.init(principal: principal, generatedSecret: wire.string(2))
    }

    public var wire: WireFields { [1: WireValue(principal), 2: .string(generatedSecret)] }
}

/// Names a principal by id, or by tenant + name, and a role.
public struct IdentityRoleRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.IdentityRoleRequest"
    public var principalID: String
    public var tenant: String
    public var name: String
    public var role: String

    public init(principalID: String = "", tenant: String = "", name: String = "", role: String) {
        self.principalID = principalID
        self.tenant = tenant
        self.name = name
        self.role = role
    }

    public init(wire: WireFields) throws {
        self.init(principalID: wire.string(1), tenant: wire.string(2), name: wire.string(3), role: wire.string(4))
    }

    public var wire: WireFields { [1: .string(principalID), 2: .string(tenant), 3: .string(name), 4: .string(role)] }
}

public struct IdentityAccountRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.IdentityAccountRequest"
    public var accountID: String
    /// CreateManagedIdentity only: the account's tenant.
    public var tenant: String

    public init(accountID: String, tenant: String = "") {
        self.accountID = accountID
        self.tenant = tenant
    }

    public init(wire: WireFields) throws { self.init(accountID: wire.string(1), tenant: wire.string(2)) }
    public var wire: WireFields { [1: .string(accountID), 2: .string(tenant)] }
}

public struct IdentityManagedIdentity: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.IdentityManagedIdentity"
    public var principalID: String
    public var accountID: String
    public var tenant: String
    public var createdAtUnix: Int64

    public init(principalID: String, accountID: String, tenant: String, createdAtUnix: Int64) {
        self.principalID = principalID
        self.accountID = accountID
        self.tenant = tenant
        self.createdAtUnix = createdAtUnix
    }

    public init(wire: WireFields) throws {
        self.init(principalID: wire.string(1), accountID: wire.string(2), tenant: wire.string(3), createdAtUnix: wire.int64(4))
    }

    public var wire: WireFields { [1: .string(principalID), 2: .string(accountID), 3: .string(tenant), 4: .int(createdAtUnix)] }
}

public struct IdentityMoveAccountRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.IdentityMoveAccountRequest"
    public var accountID: String
    public var newTenant: String

    public init(accountID: String, newTenant: String) {
        self.accountID = accountID
        self.newTenant = newTenant
    }

    public init(wire: WireFields) throws { self.init(accountID: wire.string(1), newTenant: wire.string(2)) }
    public var wire: WireFields { [1: .string(accountID), 2: .string(newTenant)] }
}

public struct IdentityMoveAccountReply: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.IdentityMoveAccountReply"
    public var identity: IdentityManagedIdentity
    public var previousTenant: String
    /// What to do about customer-key grants made for the previous tenant.
    public var notice: String

    public init(identity: IdentityManagedIdentity, previousTenant: String, notice: String) {
        self.identity = identity
        self.previousTenant = previousTenant
        self.notice = notice
    }

    public init(wire: WireFields) throws {
        guard let identity = try wire.message(1, as: IdentityManagedIdentity.self) else {
            throw WireError(.invalidField, "IdentityMoveAccountReply.identity is missing")
        }
        self.init(identity: identity, previousTenant: wire.string(2), notice: wire.string(3))
    }

    public var wire: WireFields { [1: WireValue(identity), 2: .string(previousTenant), 3: .string(notice)] }
}

public struct IdentityRotation: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.IdentityRotation"
    public var activeKid: String
    public var retiredKid: String
    public var retiredPublishedUntilUnix: Int64

    public init(activeKid: String, retiredKid: String, retiredPublishedUntilUnix: Int64) {
        self.activeKid = activeKid
        self.retiredKid = retiredKid
        self.retiredPublishedUntilUnix = retiredPublishedUntilUnix
    }

    public init(wire: WireFields) throws {
        self.init(activeKid: wire.string(1), retiredKid: wire.string(2), retiredPublishedUntilUnix: wire.int64(3))
    }

    public var wire: WireFields { [1: .string(activeKid), 2: .string(retiredKid), 3: .int(retiredPublishedUntilUnix)] }
}

/// `ListTenants` / `ListPrincipals`: empty tenant = every tenant the caller may see.
public struct IdentityListRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.IdentityListRequest"
    public var tenant: String
    /// ListPrincipals only: user, service or managedIdentity; empty: all.
    public var kind: String

    public init(tenant: String = "", kind: String = "") {
        self.tenant = tenant
        self.kind = kind
    }

    public init(wire: WireFields) throws { self.init(tenant: wire.string(1), kind: wire.string(2)) }
    public var wire: WireFields { [1: .string(tenant), 2: .string(kind)] }
}

public struct IdentityTenantList: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.IdentityTenantList"
    public var tenants: [IdentityTenant]
    public init(tenants: [IdentityTenant]) { self.tenants = tenants }
    public init(wire: WireFields) throws { self.init(tenants: try wire.messages(1)) }
    public var wire: WireFields { [1: .messages(tenants)] }
}

public struct IdentityPrincipalList: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.IdentityPrincipalList"
    public var principals: [IdentityPrincipal]
    public init(principals: [IdentityPrincipal]) { self.principals = principals }
    public init(wire: WireFields) throws { self.init(principals: try wire.messages(1)) }
    public var wire: WireFields { [1: .messages(principals)] }
}
