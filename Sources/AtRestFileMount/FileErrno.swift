import AtRestFUSE
import AtRestWire
import Glibc
import Synchronization

/// How a share call's failure reaches the kernel (docs/OPERATIONS.md
/// "Mounting a share"): NOT_FOUND ENOENT, ALREADY_EXISTS EEXIST,
/// FAILED_PRECONDITION by its `details["reason"]`: notEmpty ENOTEMPTY,
/// isDirectory EISDIR, notDirectory ENOTDIR, keyInaccessible EACCES;
/// RESOURCE_EXHAUSTED EDQUOT, PERMISSION_DENIED / UNAUTHENTICATED (a
/// disabled or revoked key, a token no longer accepted) EACCES,
/// INVALID_ARGUMENT / OUT_OF_RANGE EINVAL, everything else (UNAVAILABLE
/// and DEADLINE_EXCEEDED after the client's retries, DATA_LOSS, a call
/// past the mount's deadline) EIO.
public enum FileErrno {
    public static func errno(_ status: RPCStatus) -> Int32 {
        switch status.code {
        case .notFound: return ENOENT
        case .alreadyExists: return EEXIST
        case .resourceExhausted: return EDQUOT
        case .permissionDenied, .unauthenticated: return EACCES
        case .invalidArgument, .outOfRange:
            return status.message.contains("too long") ? ENAMETOOLONG : EINVAL
        case .failedPrecondition:
            // The worker names the tree's refusals in details["reason"] (StorageError
            // notEmpty, isDirectory, notDirectory) and an inaccessible account key
            // as "keyInaccessible" (docs/PROTOCOL.md "File").
            switch status.details["reason"] {
            case "notEmpty": return ENOTEMPTY
            case "notDirectory": return ENOTDIR
            case "isDirectory": return EISDIR
            case "keyInaccessible": return EACCES
            default: return EIO
            }
        default: return EIO
        }
    }

    /// The `FUSEError` for any failure of a share call (with the status as its message, never data).
    public static func fuseError(_ error: any Error, _ what: @autoclosure () -> String) -> FUSEError {
        switch error {
        case let fuse as FUSEError: return fuse
        case let status as RPCStatus: return FUSEError(errno: errno(status), "\(what()): \(status)")
        case is CancellationError: return FUSEError(errno: EINTR, "\(what()): interrupted")
        default: return FUSEError(errno: EIO, "\(what()): \(error)")
        }
    }
}

/// Runs `body` with a deadline: past `seconds`, the caller gets EIO and
/// `body` is cancelled and left to finish on its own (a call never holds a
/// kernel request longer than the deadline, whatever the network does).
func withDeadline<T: Sendable>(_ seconds: Double, _ what: @escaping @Sendable () -> String,
                               _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let gate = DeadlineGate<T>()
    return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        gate.slot.withLock { $0 = continuation }
        let timer = Task {
            try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
            gate.take()?.resume(throwing: FUSEError(errno: EIO, "\(what()): no answer within \(Int(seconds)) s"))
        }
        Task {
            let result: Result<T, any Error>
            do { result = .success(try await body()) } catch { result = .failure(error) }
            timer.cancel()
            gate.take()?.resume(with: result)
        }
    }
}

/// Whoever comes first (the answer or the deadline) resumes the caller.
private final class DeadlineGate<T: Sendable>: Sendable {
    let slot = Mutex<CheckedContinuation<T, any Error>?>(nil)

    func take() -> CheckedContinuation<T, any Error>? {
        slot.withLock { state in
            defer { state = nil }
            return state
        }
    }
}
