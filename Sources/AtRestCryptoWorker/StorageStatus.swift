import AtRestStorage
import AtRestWire

extension StorageError {
    /// The status a caller sees. Integrity failures are DATA_LOSS: the
    /// stored bytes are not what was written, and retrying will not help.
    var rpcStatus: RPCStatus {
        switch code {
        case .notFound, .containerNotFound: RPCStatus(.notFound, message)
        case .alreadyExists: RPCStatus(.alreadyExists, message)
        case .conditionFailed: RPCStatus(.failedPrecondition, message)
        case .invalidArgument: RPCStatus(message.contains("not empty") ? .failedPrecondition : .invalidArgument, message)
        // The reason tells a file system client which errno it is (ENOTEMPTY, EISDIR, ENOTDIR).
        case .notEmpty, .isDirectory, .notDirectory: RPCStatus(.failedPrecondition, message, details: ["reason": code.rawValue])
        case .resourceExhausted: RPCStatus(.resourceExhausted, message)
        // Not tampering: the caller must send (the right) customer-provided key.
        case .customerKeyRequired, .customerKeyMismatch: RPCStatus(.failedPrecondition, message, details: ["reason": code.rawValue])
        case .keyUnavailable: RPCStatus(.failedPrecondition, message, details: details)
        case .contentHashMismatch: RPCStatus(.invalidArgument, message)
        case .integrityFailure, .unsupportedFormat:
            RPCStatus(.dataLoss, "integrity check failed: \(message)", details: ["reason": "integrity"])
        case .wrongKey: RPCStatus(.dataLoss, "integrity check failed: \(message)", details: ["reason": "wrongKey"])
        case .unavailable: RPCStatus(.unavailable, "storage unavailable: \(message)", retryAfterMs: 1000, details: ["reason": "storageUnavailable"])
        default: RPCStatus(.internal, "storage error: \(message)")
        }
    }
}
