import AtRestStorage
import Synchronization

/// The queue store of each object store a worker serves, made on first use.
final class QueueStores: Sendable {
    private let stores = Mutex<[ObjectIdentifier: QueueStore]>([:])

    func store(for objects: ObjectStore) -> QueueStore {
        stores.withLock { stores in
            if let store = stores[ObjectIdentifier(objects)] { return store }
            let store = QueueStore(backend: objects.backend)
            stores[ObjectIdentifier(objects)] = store
            return store
        }
    }
}
