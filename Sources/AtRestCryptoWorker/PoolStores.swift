import AtRestStorage
import Synchronization

/// One store of a kind (`QueueStore`, `DiskStore`) per object store (pool)
/// a worker serves, made on first use and kept for the worker's life: each
/// remembers what it looked up (a queue's message map, a disk's id and size).
final class PoolStores<Store: Sendable>: Sendable {
    private let stores = Mutex<[ObjectIdentifier: Store]>([:])
    private let make: @Sendable (any StorageBackend) -> Store

    init(_ make: @escaping @Sendable (any StorageBackend) -> Store) { self.make = make }

    func store(for objects: ObjectStore) -> Store {
        stores.withLock { stores in
            if let store = stores[ObjectIdentifier(objects)] { return store }
            let store = make(objects.backend)
            stores[ObjectIdentifier(objects)] = store
            return store
        }
    }
}
