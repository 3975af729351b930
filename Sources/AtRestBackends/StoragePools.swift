import AtRestRados
import AtRestStorage

/// The storage a service runs on, opened: one backend per storage class,
/// the first the default. `local`: the directory, one copy. `rados`: one
/// backend per pool, each offering as many copies as the pool's size (read
/// from the monitors at start, so what an account is told is what Ceph does).
public struct StoragePools: Sendable {
    public let classes: StorageClasses
    /// By pool name ("" for the local directory).
    public let backends: [String: any StorageBackend]

    public var defaultBackend: any StorageBackend { backends[classes.defaultClass.pool]! }

    /// Opens `configuration` and, for `rados`, also `extraPools` (one storage
    /// class each). Two pools with the same size are refused: an account
    /// asks for copies, so each count must name one pool.
    public static func open(_ configuration: BackendConfiguration, extraPools: [String] = []) async throws -> StoragePools {
        switch configuration.kind {
        case .local:
            guard extraPools.isEmpty else {
                throw StorageError(.invalidArgument, "more than one --pool applies to --backend rados only (the backend is local)")
            }
            return StoragePools(classes: .local, backends: ["": try await configuration.open()])
        case .rados:
            var classes: [StorageClass] = []
            var backends: [String: any StorageBackend] = [:]
            for pool in [configuration.pool] + extraPools {
                guard backends[pool] == nil else { throw StorageError(.invalidArgument, "pool '\(pool)' is given twice") }
                var one = configuration
                one.pool = pool
                let backend = try await one.open()
                let copies: Int
                do {
                    copies = try await (backend as! RadosBackend).pool.cluster.replicaCount(ofPool: pool)
                } catch let error as RadosError {
                    throw StorageError(.io, "reading the size of Ceph pool '\(pool)' as \(configuration.cephUser) (needs mon 'allow r'): \(error.message)")
                }
                if let same = classes.first(where: { $0.copies == UInt32(copies) }) {
                    throw StorageError(.invalidArgument, "pools '\(same.pool)' and '\(pool)' both keep \(copies) copies; give one pool per redundancy")
                }
                classes.append(StorageClass(pool: pool, copies: UInt32(copies)))
                backends[pool] = backend
            }
            return StoragePools(classes: StorageClasses(classes), backends: backends)
        }
    }
}
