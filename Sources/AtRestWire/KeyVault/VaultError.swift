/// An error of the key vault. Names the key (provider/key id/version) where it
/// helps, never key bytes. `rpcStatus` is what a caller sees on the wire.
public struct VaultError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let notFound = Code(rawValue: "notFound")
        public static let disabled = Code(rawValue: "disabled")
        public static let revoked = Code(rawValue: "revoked")
        public static let expired = Code(rawValue: "expired")
        public static let deleted = Code(rawValue: "deleted")
        public static let purgeProtected = Code(rawValue: "purgeProtected")
        /// The blob was wrapped by different key material than the key named in it.
        public static let wrongKey = Code(rawValue: "wrongKey")
        /// A wrapped blob, state file or envelope does not parse or authenticate.
        public static let corrupt = Code(rawValue: "corrupt")
        public static let invalidArgument = Code(rawValue: "invalidArgument")
        public static let alreadyExists = Code(rawValue: "alreadyExists")
        public static let unsupported = Code(rawValue: "unsupported")
        /// The caller lacks a role or grant; the message names the missing one.
        public static let permissionDenied = Code(rawValue: "permissionDenied")
        /// A managed identity's grant was made in another tenant (the account moved).
        public static let grantTenantMismatch = Code(rawValue: "grantTenantMismatch")
        /// The token names a tenant the identity has left (its account moved): fetch a new token.
        public static let staleToken = Code(rawValue: "staleToken")
        /// Stored data still references the key.
        public static let stillReferenced = Code(rawValue: "stillReferenced")
        /// A provider could not be opened (e.g. its state file is corrupt).
        public static let unavailable = Code(rawValue: "unavailable")
        /// Plug-in loading failed: missing file, missing symbol, wrong ABI version.
        public static let pluginLoad = Code(rawValue: "pluginLoad")
        /// The audit log does not verify against its head anchor (start-up;
        /// `atrest-keyvault recover-audit` records the gap).
        public static let auditIncomplete = Code(rawValue: "auditIncomplete")
        public static let io = Code(rawValue: "io")
        public static let `internal` = Code(rawValue: "internal")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }

    /// The gRPC status for this error.
    public var rpcStatus: RPCStatus {
        let status: StatusCode = switch code {
        case .notFound: .notFound
        case .alreadyExists: .alreadyExists
        case .invalidArgument: .invalidArgument
        case .permissionDenied, .revoked: .permissionDenied
        case .corrupt, .auditIncomplete: .dataLoss
        case .unsupported: .unimplemented
        case .unavailable: .unavailable
        case .staleToken: .unauthenticated
        case .disabled, .expired, .deleted, .purgeProtected, .wrongKey, .stillReferenced, .grantTenantMismatch: .failedPrecondition
        default: .internal
        }
        return RPCStatus(status, message, details: ["vault_code": code.rawValue])
    }
}
