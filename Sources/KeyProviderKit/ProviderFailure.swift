import CKeyProviderABI

/// A provider operation's failure: an ABI status code and a message that
/// names the key (never key bytes). Crosses the C boundary as code + text.
public struct ProviderFailure: Error, Sendable {
    public var status: atrest_kp_status
    public var message: String

    public init(_ status: atrest_kp_status, _ message: String) {
        self.status = status
        self.message = message
    }
}

extension atrest_kp_status {
    static let notFound = ATREST_KP_NOT_FOUND
    static let disabled = ATREST_KP_DISABLED
    static let revoked = ATREST_KP_REVOKED
    static let expired = ATREST_KP_EXPIRED
    static let deleted = ATREST_KP_DELETED
    static let purgeProtected = ATREST_KP_PURGE_PROTECTED
    static let corrupt = ATREST_KP_CORRUPT
    static let invalidArgument = ATREST_KP_INVALID_ARGUMENT
    static let `internal` = ATREST_KP_INTERNAL
    static let alreadyExists = ATREST_KP_ALREADY_EXISTS
    static let unsupported = ATREST_KP_UNSUPPORTED
}
