/// What distinguishes one Swift provider from another: which operations it
/// offers and its defaults. The key store itself is shared (see
/// `ProviderInstance`), so managed, customer and revoked-test differ only here.
public struct ProviderRules: Sendable {
    public var name: String
    /// Customer key material may be imported (BYOK).
    public var allowsImport: Bool
    /// Rotation period for new keys when the create request does not set one; 0 = none.
    public var defaultRotationDays: UInt32
    /// Soft-delete retention for new keys when the request does not set one.
    public var defaultRetentionDays: UInt32
    /// Every unwrap answers REVOKED (revoked-test).
    public var unwrapRevoked: Bool
    /// Every wrap answers REVOKED too (revoked-test with `revoke_wrap=1`).
    public var wrapRevoked: Bool
    /// Config keys this provider understands besides rotation_days/retention_days.
    public var extraConfigKeys: Set<String>

    public init(name: String, allowsImport: Bool, defaultRotationDays: UInt32, defaultRetentionDays: UInt32,
                unwrapRevoked: Bool = false, wrapRevoked: Bool = false, extraConfigKeys: Set<String> = []) {
        self.name = name
        self.allowsImport = allowsImport
        self.defaultRotationDays = defaultRotationDays
        self.defaultRetentionDays = defaultRetentionDays
        self.unwrapRevoked = unwrapRevoked
        self.wrapRevoked = wrapRevoked
        self.extraConfigKeys = extraConfigKeys
    }

    /// Applies the `key=value;key=value` config string from the vault config.
    /// Unknown keys and bad numbers are errors, so a typo never goes unnoticed.
    public func configured(by config: String) throws(ProviderFailure) -> ProviderRules {
        var rules = self
        for pair in config.split(separator: ";") where !pair.allSatisfy(\.isWhitespace) {
            let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingSpaces() }
            guard parts.count == 2 else {
                throw ProviderFailure(.invalidArgument, "\(name): config entry '\(pair)' is not key=value")
            }
            let (key, value) = (parts[0], parts[1])
            switch key {
            case "rotation_days": rules.defaultRotationDays = try Self.days(value, key: key, provider: name)
            case "retention_days": rules.defaultRetentionDays = try Self.days(value, key: key, provider: name)
            case "revoke_wrap" where extraConfigKeys.contains(key):
                guard value == "0" || value == "1" else {
                    throw ProviderFailure(.invalidArgument, "\(name): revoke_wrap must be 0 or 1, got '\(value)'")
                }
                rules.wrapRevoked = value == "1"
            default:
                let known = (["rotation_days", "retention_days"] + extraConfigKeys.sorted()).joined(separator: ", ")
                throw ProviderFailure(.invalidArgument, "\(name): unknown config key '\(key)' (known: \(known))")
            }
        }
        return rules
    }

    private static func days(_ value: String, key: String, provider: String) throws(ProviderFailure) -> UInt32 {
        guard let days = UInt32(value), days <= 36_500 else {
            throw ProviderFailure(.invalidArgument, "\(provider): \(key) must be a number of days (0-36500), got '\(value)'")
        }
        return days
    }
}

extension Substring {
    func trimmingSpaces() -> String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
