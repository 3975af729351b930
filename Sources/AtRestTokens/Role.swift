/// A role a principal holds; written into tokens as a string such as
/// "accountOwner:acct-1" or "keyAdministrator".
///
/// Account roles carry the account they apply to, so a token says exactly
/// which accounts its holder may touch and the front door needs no lookup.
public enum Role: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Data and encryption settings of one account.
    case accountOwner(String)
    /// Read-only access to one account's data.
    case accountReader(String)
    /// The account's own managed identity (what a worker presents to the vault).
    case accountIdentity(String)
    /// Vault key operations in the caller's tenant.
    case keyAdministrator
    /// The internal AtRest services (front door, workers, vault).
    case service
    /// Creates tenants and principals, grants roles, rotates signing keys.
    case identityAdministrator

    /// Parses "kind" or "kind:account"; nil for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let kind = parts[0]
        let scope = parts.count == 2 ? String(parts[1]) : nil
        switch (kind, scope) {
        case ("accountOwner", let account?) where Role.isValidAccount(account): self = .accountOwner(account)
        case ("accountReader", let account?) where Role.isValidAccount(account): self = .accountReader(account)
        case ("accountIdentity", let account?) where Role.isValidAccount(account): self = .accountIdentity(account)
        case ("keyAdministrator", nil): self = .keyAdministrator
        case ("service", nil): self = .service
        case ("identityAdministrator", nil): self = .identityAdministrator
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .accountOwner(let account): "accountOwner:\(account)"
        case .accountReader(let account): "accountReader:\(account)"
        case .accountIdentity(let account): "accountIdentity:\(account)"
        case .keyAdministrator: "keyAdministrator"
        case .service: "service"
        case .identityAdministrator: "identityAdministrator"
        }
    }

    /// What a user may type, for error messages.
    public static let syntax = "accountOwner:<account>, accountReader:<account>, keyAdministrator, service, identityAdministrator"

    static func isValidAccount(_ account: String) -> Bool { Names.isValid(account) }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let role = Role(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown role '\(text)'"))
        }
        self = role
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Rules for tenant, principal and account names: short, printable, no separators
/// that would make role strings or file names ambiguous.
package enum Names {
    package static let maxLength = 128

    package static func isValid(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= maxLength else { return false }
        return name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2D || byte == 0x5F || byte == 0x2E || byte == 0x40
        }
    }

    package static let rule = "1-128 characters from A-Z a-z 0-9 - _ . @"
}
