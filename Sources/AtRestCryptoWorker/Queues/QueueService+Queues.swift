import AtRestStorage
import AtRestWire

extension QueueService {
    func registerQueueMethods(_ router: inout RPCRouter) {
        router.register(QueueMethod.createQueue) { (request: QueueRequest, rpc) async throws -> EmptyMessage in
            try await withQueues(rpc, queue: request.queue) { queues, account, key in
                try await queues.createQueue(account: account, name: request.queue, metadata: request.metadata, accountKey: key)
            }
            return EmptyMessage()
        }
        router.register(QueueMethod.deleteQueue) { (request: QueueRequest, rpc) async throws -> EmptyMessage in
            try await withQueues(rpc, queue: request.queue) { queues, account, key in
                try await queues.deleteQueue(account: account, name: request.queue, accountKey: key)
            }
            return EmptyMessage()
        }
        router.register(QueueMethod.listQueues) { (request: QueueListRequest, rpc) async throws -> QueueListResponse in
            try await withQueues(rpc, queue: nil) { queues, account, key in
                let page = try await queues.listQueues(account: account, prefix: request.prefix,
                                                       continuation: request.continuation.isEmpty ? nil : request.continuation,
                                                       limit: request.pageSize == 0 ? 1000 : Int(request.pageSize), accountKey: key)
                return QueueListResponse(queues: page.queues.map(Self.wire), continuation: page.continuation ?? "")
            }
        }
        router.register(QueueMethod.getQueueProperties) { (request: QueueRequest, rpc) async throws -> QueueProperties in
            try await withQueues(rpc, queue: request.queue) { queues, account, key in
                Self.wire(try await queues.properties(account: account, name: request.queue, accountKey: key))
            }
        }
        router.register(QueueMethod.setQueueMetadata) { (request: QueueRequest, rpc) async throws -> QueueProperties in
            try await withQueues(rpc, queue: request.queue) { queues, account, key in
                try await queues.setMetadata(account: account, name: request.queue, metadata: request.metadata, accountKey: key)
                return Self.wire(try await queues.properties(account: account, name: request.queue, accountKey: key))
            }
        }
        router.register(QueueMethod.clearMessages) { (request: QueueRequest, rpc) async throws -> EmptyMessage in
            try await withQueues(rpc, queue: request.queue) { queues, account, key in
                try await queues.clear(account: account, queue: request.queue, accountKey: key)
            }
            return EmptyMessage()
        }
    }
}
