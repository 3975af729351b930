internal import CRados
import Foundation

extension RadosError {
    /// The typed error for a negative librados return value `rc` of `call`.
    static func from(_ rc: Int32, _ call: String) -> RadosError {
        let errno = -rc
        let code: Code
        switch errno {
        case atrest_rados_enoent, atrest_rados_enodata: code = .notFound  // ENODATA: no such xattr
        case atrest_rados_eexist: code = .alreadyExists
        // ERANGE: the object is newer than the asserted version; EOVERFLOW: older.
        case atrest_rados_erange, atrest_rados_eoverflow: code = .versionMismatch
        case atrest_rados_ecanceled: code = .comparisonFailed
        case atrest_rados_eperm, atrest_rados_eacces: code = .permissionDenied
        case atrest_rados_etimedout: code = .timedOut
        default: code = .failed
        }
        return RadosError(code, errno: errno, "\(call): \(String(cString: strerror(errno))) (errno \(errno))")
    }

    /// Throws the typed error when `rc` is negative; returns it otherwise.
    @discardableResult
    static func check(_ rc: Int32, _ call: @autoclosure () -> String) throws(RadosError) -> Int32 {
        if rc < 0 { throw from(rc, call()) }
        return rc
    }
}
