import AtRestStorage
import AtRestWire

/// The queue methods a crypto worker serves (`atrest.v1.Queue/*`) with a
/// `QueueStore` on the backend of the account's pool, for calls the front
/// door has authenticated, authorised (readers: list, properties, peek,
/// get) and tagged with an `AccountContext`. Context, account key and
/// error mapping are the blob service's (`BlobService.withKey`); names are
/// checked (INVALID_ARGUMENT) before any key work. A put answers only once
/// the message is durable.
public struct QueueService: Sendable {
    let blobs: BlobService
    /// One queue store per object store (pool), kept for the worker's life:
    /// each remembers the message maps of the queues it looked up.
    let stores = PoolStores { QueueStore(backend: $0) }

    public init(blobs: BlobService) { self.blobs = blobs }

    /// Default visibility timeout of GetMessages when the request leaves it 0.
    static let defaultVisibilitySeconds: Int64 = 30

    /// Registers every queue method on `router`.
    public func register(on router: inout RPCRouter) {
        registerQueueMethods(&router)
        registerMessageMethods(&router)
    }

    /// Runs `body` with the queue store of the account's pool, the account id and key.
    func withQueues<T>(_ rpc: RPCContext, queue: String?, _ body: (QueueStore, String, AccountKey) async throws -> T) async throws -> T {
        if let queue {
            do { try QueueLimits.validate(queueName: queue) } catch let error as StorageError { throw error.rpcStatus }
        }
        return try await blobs.withKey(rpc) { store, account, key in try await body(stores.store(for: store), account, key) }
    }

    static func wire(_ info: QueueInfo) -> QueueProperties {
        QueueProperties(queue: info.name, metadata: info.metadata, createdAtMs: info.creationTime,
                        approximateMessageCount: info.approximateMessageCount.map(Int64.init) ?? -1)
    }

    static func wire(_ message: QueuedMessage) -> QueueMessage {
        QueueMessage(messageID: message.id, body: message.body, insertedAtMs: message.insertionTime, expiresAtMs: message.expirationTime ?? 0,
                     nextVisibleAtMs: message.nextVisibleTime, dequeueCount: message.dequeueCount, popReceipt: message.popReceipt ?? "")
    }
}
