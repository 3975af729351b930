// Swift types of proto/atrest/v1/queue.proto.

public struct QueueRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.QueueRequest"
    public var queue: String
    public var metadata: [String: String]
    public init(queue: String, metadata: [String: String] = [:]) { self.queue = queue; self.metadata = metadata }
    public init(wire: WireFields) throws { self.init(queue: wire.string(1), metadata: wire.stringMap(2)) }
    public var wire: WireFields { [1: .string(queue), 2: .map(metadata)] }
}

public struct QueueProperties: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.QueueProperties"
    public var queue: String
    public var metadata: [String: String]
    public var createdAtMs: Int64
    /// -1: not counted.
    public var approximateMessageCount: Int64
    public init(queue: String, metadata: [String: String] = [:], createdAtMs: Int64 = 0, approximateMessageCount: Int64 = -1) {
        self.queue = queue
        self.metadata = metadata
        self.createdAtMs = createdAtMs
        self.approximateMessageCount = approximateMessageCount
    }
    public init(wire: WireFields) throws {
        self.init(queue: wire.string(1), metadata: wire.stringMap(2), createdAtMs: wire.int64(3), approximateMessageCount: wire.int64(4))
    }
    public var wire: WireFields { [1: .string(queue), 2: .map(metadata), 3: .int(createdAtMs), 4: .int(approximateMessageCount)] }
}

public struct QueueListRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.QueueListRequest"
    public var prefix: String
    public var pageSize: UInt32
    public var continuation: String
    public init(prefix: String = "", pageSize: UInt32 = 0, continuation: String = "") {
        self.prefix = prefix
        self.pageSize = pageSize
        self.continuation = continuation
    }
    public init(wire: WireFields) throws { self.init(prefix: wire.string(1), pageSize: wire.uint32(2), continuation: wire.string(3)) }
    public var wire: WireFields { [1: .string(prefix), 2: .uint(UInt64(pageSize)), 3: .string(continuation)] }
}

public struct QueueListResponse: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.QueueListResponse"
    public var queues: [QueueProperties]
    public var continuation: String
    public init(queues: [QueueProperties], continuation: String = "") { self.queues = queues; self.continuation = continuation }
    public init(wire: WireFields) throws { self.init(queues: try wire.messages(1), continuation: wire.string(2)) }
    public var wire: WireFields { [1: .messages(queues), 2: .string(continuation)] }
}

public struct PutMessageRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.PutMessageRequest"
    public var queue: String
    public var body: [UInt8]
    /// 0: the default (7 days); -1: never.
    public var ttlSeconds: Int64
    public var delaySeconds: Int64
    public init(queue: String, body: [UInt8], ttlSeconds: Int64 = 0, delaySeconds: Int64 = 0) {
        self.queue = queue
        self.body = body
        self.ttlSeconds = ttlSeconds
        self.delaySeconds = delaySeconds
    }
    public init(wire: WireFields) throws {
        self.init(queue: wire.string(1), body: wire.bytes(2), ttlSeconds: wire.int64(3), delaySeconds: wire.int64(4))
    }
    public var wire: WireFields { [1: .string(queue), 2: .bytes(body), 3: .int(ttlSeconds), 4: .int(delaySeconds)] }
}

public struct QueueMessage: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.QueueMessage"
    public var messageID: String
    public var body: [UInt8]
    public var insertedAtMs: Int64
    /// 0: never expires.
    public var expiresAtMs: Int64
    public var nextVisibleAtMs: Int64
    public var dequeueCount: UInt32
    /// Empty from PeekMessages.
    public var popReceipt: String
    public init(messageID: String, body: [UInt8], insertedAtMs: Int64 = 0, expiresAtMs: Int64 = 0, nextVisibleAtMs: Int64 = 0,
                dequeueCount: UInt32 = 0, popReceipt: String = "") {
        self.messageID = messageID
        self.body = body
        self.insertedAtMs = insertedAtMs
        self.expiresAtMs = expiresAtMs
        self.nextVisibleAtMs = nextVisibleAtMs
        self.dequeueCount = dequeueCount
        self.popReceipt = popReceipt
    }
    public init(wire: WireFields) throws {
        self.init(messageID: wire.string(1), body: wire.bytes(2), insertedAtMs: wire.int64(3), expiresAtMs: wire.int64(4),
                  nextVisibleAtMs: wire.int64(5), dequeueCount: wire.uint32(6), popReceipt: wire.string(7))
    }
    public var wire: WireFields {
        [1: .string(messageID), 2: .bytes(body), 3: .int(insertedAtMs), 4: .int(expiresAtMs), 5: .int(nextVisibleAtMs),
         6: .uint(UInt64(dequeueCount)), 7: .string(popReceipt)]
    }
}

public struct QueueMessageList: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.QueueMessageList"
    public var messages: [QueueMessage]
    public init(messages: [QueueMessage]) { self.messages = messages }
    public init(wire: WireFields) throws { self.init(messages: try wire.messages(1)) }
    public var wire: WireFields { [1: .messages(messages)] }
}

public struct GetMessagesRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.GetMessagesRequest"
    public var queue: String
    /// 0: 1.
    public var count: UInt32
    /// 0: 30 s.
    public var visibilitySeconds: Int64
    public init(queue: String, count: UInt32 = 0, visibilitySeconds: Int64 = 0) {
        self.queue = queue
        self.count = count
        self.visibilitySeconds = visibilitySeconds
    }
    public init(wire: WireFields) throws { self.init(queue: wire.string(1), count: wire.uint32(2), visibilitySeconds: wire.int64(3)) }
    public var wire: WireFields { [1: .string(queue), 2: .uint(UInt64(count)), 3: .int(visibilitySeconds)] }
}

public struct PeekMessagesRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.PeekMessagesRequest"
    public var queue: String
    public var count: UInt32
    public init(queue: String, count: UInt32 = 0) { self.queue = queue; self.count = count }
    public init(wire: WireFields) throws { self.init(queue: wire.string(1), count: wire.uint32(2)) }
    public var wire: WireFields { [1: .string(queue), 2: .uint(UInt64(count))] }
}

public struct UpdateMessageRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.UpdateMessageRequest"
    public var queue: String
    public var messageID: String
    public var popReceipt: String
    public var visibilitySeconds: Int64
    /// nil: keep the body.
    public var body: [UInt8]?
    public init(queue: String, messageID: String, popReceipt: String, visibilitySeconds: Int64, body: [UInt8]? = nil) {
        self.queue = queue
        self.messageID = messageID
        self.popReceipt = popReceipt
        self.visibilitySeconds = visibilitySeconds
        self.body = body
    }
    public init(wire: WireFields) throws {
        self.init(queue: wire.string(1), messageID: wire.string(2), popReceipt: wire.string(3), visibilitySeconds: wire.int64(4),
                  body: wire.bool(5) ? wire.bytes(6) : nil)
    }
    public var wire: WireFields {
        [1: .string(queue), 2: .string(messageID), 3: .string(popReceipt), 4: .int(visibilitySeconds), 5: .bool(body != nil), 6: .bytes(body ?? [])]
    }
}

public struct MessageRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.MessageRequest"
    public var queue: String
    public var messageID: String
    public var popReceipt: String
    public init(queue: String, messageID: String, popReceipt: String) {
        self.queue = queue
        self.messageID = messageID
        self.popReceipt = popReceipt
    }
    public init(wire: WireFields) throws { self.init(queue: wire.string(1), messageID: wire.string(2), popReceipt: wire.string(3)) }
    public var wire: WireFields { [1: .string(queue), 2: .string(messageID), 3: .string(popReceipt)] }
}
