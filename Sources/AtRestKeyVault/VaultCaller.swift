/// Who is calling. Built by the RPC layer from a verified token (issue 5,
/// second step); tests and in-process users build it directly.
public struct VaultCaller: Sendable, Equatable, CustomStringConvertible {
    public var principalID: String
    public var tenantID: String
    public var roles: Set<String>

    public init(principalID: String, tenantID: String = "", roles: Set<String> = []) {
        self.principalID = principalID
        self.tenantID = tenantID
        self.roles = roles
    }

    public var description: String { "principal '\(principalID)'" }

    /// The vault itself (automatic rotation); never granted over the wire.
    static let system = VaultCaller(principalID: "system:rotation-policy")
}
