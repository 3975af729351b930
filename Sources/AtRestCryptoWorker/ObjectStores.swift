import AtRestBackends
import AtRestStorage
import AtRestWire

/// A worker's object stores, one per storage pool it is configured with
/// (`StoragePools`); a call goes to the pool its account lives in
/// (`AccountContext.pool`, "" for the default).
public struct ObjectStores: Sendable {
    public let defaultPool: String
    private let stores: [String: ObjectStore]

    public init(_ pools: StoragePools) {
        defaultPool = pools.classes.defaultClass.pool
        stores = pools.backends.mapValues { ObjectStore(backend: $0) }
    }

    public var defaultStore: ObjectStore { stores[defaultPool]! }
    public var pools: [String] { stores.keys.sorted() }

    /// The store of `pool`; FAILED_PRECONDITION when this worker was not
    /// started with that pool (the deployment's workers must all have every
    /// pool the front door offers).
    public func store(for pool: String) throws(RPCStatus) -> ObjectStore {
        if pool.isEmpty { return defaultStore }
        guard let store = stores[pool] else {
            throw RPCStatus(.failedPrecondition,
                            "this worker has no storage pool '\(pool)' (it has: \(pools.map { $0.isEmpty ? "(local)" : $0 }.joined(separator: ", "))); start every worker with every --pool the front door offers")
        }
        return store
    }
}
