import AtRestStorage
import AtRestWire

extension QueueService {
    func registerMessageMethods(_ router: inout RPCRouter) {
        router.register(QueueMethod.putMessage) { (request: PutMessageRequest, rpc) async throws -> QueueMessage in
            let ttl: QueueTimeToLive = switch request.ttlSeconds {
            case 0: .standard
            case -1: .never
            default: .seconds(request.ttlSeconds)
            }
            return try await withQueues(rpc, queue: request.queue) { queues, account, key in
                Self.wire(try await queues.put(account: account, queue: request.queue, body: request.body, timeToLive: ttl,
                                               delaySeconds: request.delaySeconds, accountKey: key))
            }
        }
        router.register(QueueMethod.getMessages) { (request: GetMessagesRequest, rpc) async throws -> QueueMessageList in
            try await withQueues(rpc, queue: request.queue) { queues, account, key in
                let messages = try await queues.get(account: account, queue: request.queue, count: max(1, Int(request.count)),
                                                    visibilitySeconds: request.visibilitySeconds == 0 ? Self.defaultVisibilitySeconds : request.visibilitySeconds,
                                                    accountKey: key)
                return QueueMessageList(messages: messages.map(Self.wire))
            }
        }
        router.register(QueueMethod.peekMessages) { (request: PeekMessagesRequest, rpc) async throws -> QueueMessageList in
            try await withQueues(rpc, queue: request.queue) { queues, account, key in
                QueueMessageList(messages: try await queues.peek(account: account, queue: request.queue, count: max(1, Int(request.count)),
                                                                 accountKey: key).map(Self.wire))
            }
        }
        router.register(QueueMethod.updateMessage) { (request: UpdateMessageRequest, rpc) async throws -> QueueMessage in
            try await withQueues(rpc, queue: request.queue) { queues, account, key in
                Self.wire(try await queues.update(account: account, queue: request.queue, messageID: request.messageID,
                                                  popReceipt: request.popReceipt, visibilitySeconds: request.visibilitySeconds,
                                                  body: request.body, accountKey: key))
            }
        }
        router.register(QueueMethod.deleteMessage) { (request: MessageRequest, rpc) async throws -> EmptyMessage in
            try await withQueues(rpc, queue: request.queue) { queues, account, key in
                try await queues.delete(account: account, queue: request.queue, messageID: request.messageID,
                                        popReceipt: request.popReceipt, accountKey: key)
            }
            return EmptyMessage()
        }
    }
}
