import AtRestRados
import AtRestStorage

extension StorageError {
    /// A librados failure the caller did not expect, as `.io` with a message
    /// an operator can act on: the monitors that did not answer, the pool
    /// that is missing, the capability the user lacks. RadosError messages
    /// never carry key material (keyrings stay in their files).
    static func rados(_ error: RadosError, pool: String, user: String, _ what: String) -> StorageError {
        switch error.code {
        case .unreachable, .timedOut:
            return StorageError(.unavailable, "Ceph did not answer while \(what) (pool '\(pool)', user \(user)): \(error.message)")
        case .poolNotFound:
            return StorageError(.io, "\(error.message) (user \(user))")
        case .permissionDenied:
            return StorageError(.io, "Ceph refused \(what) for user \(user) in pool '\(pool)': it needs the capabilities "
                + "mon 'allow r' and osd 'allow rw pool=\(pool)' (and a valid key): \(error.message)")
        default:
            return StorageError(.io, "Ceph failed while \(what) (pool '\(pool)'): \(error.message)")
        }
    }
}
