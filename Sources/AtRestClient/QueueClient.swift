import AtRestMessaging
import AtRestWire

/// Typed calls to `atrest.v1.Queue/*` of one account, through the front
/// door (the account metadata and token as for blobs: `BlobClient.call`).
/// Reads are marked idempotent; GetMessages is not (a re-run would claim
/// more messages), nor are the writes.
public struct QueueClient: Sendable {
    let calls: BlobClient
    public var account: String { calls.account }

    public init(_ base: ServiceClient, account: String) {
        calls = BlobClient(base, account: account)
    }

    public func createQueue(_ queue: String, metadata: [String: String] = [:]) async throws {
        _ = try await calls.call(QueueMethod.createQueue, QueueRequest(queue: queue, metadata: metadata))
    }

    public func deleteQueue(_ queue: String) async throws {
        _ = try await calls.call(QueueMethod.deleteQueue, QueueRequest(queue: queue))
    }

    public func listQueues(prefix: String = "", pageSize: UInt32 = 0, continuation: String = "") async throws -> QueueListResponse {
        try await calls.call(QueueMethod.listQueues, QueueListRequest(prefix: prefix, pageSize: pageSize, continuation: continuation),
                             idempotent: true).message
    }

    public func properties(_ queue: String) async throws -> QueueProperties {
        try await calls.call(QueueMethod.getQueueProperties, QueueRequest(queue: queue), idempotent: true).message
    }

    public func setMetadata(_ queue: String, _ metadata: [String: String]) async throws -> QueueProperties {
        try await calls.call(QueueMethod.setQueueMetadata, QueueRequest(queue: queue, metadata: metadata)).message
    }

    public func clear(_ queue: String) async throws {
        _ = try await calls.call(QueueMethod.clearMessages, QueueRequest(queue: queue))
    }

    /// `ttlSeconds`: 0 the default (7 days), -1 never.
    public func put(_ queue: String, _ body: [UInt8], ttlSeconds: Int64 = 0, delaySeconds: Int64 = 0) async throws -> QueueMessage {
        try await calls.call(QueueMethod.putMessage, PutMessageRequest(queue: queue, body: body, ttlSeconds: ttlSeconds, delaySeconds: delaySeconds)).message
    }

    public func get(_ queue: String, count: UInt32 = 1, visibilitySeconds: Int64 = 30) async throws -> [QueueMessage] {
        try await calls.call(QueueMethod.getMessages, GetMessagesRequest(queue: queue, count: count, visibilitySeconds: visibilitySeconds)).message.messages
    }

    public func peek(_ queue: String, count: UInt32 = 1) async throws -> [QueueMessage] {
        try await calls.call(QueueMethod.peekMessages, PeekMessagesRequest(queue: queue, count: count), idempotent: true).message.messages
    }

    /// A new visibility timeout (and body, when given); returns the message with its new pop receipt.
    public func update(_ queue: String, messageID: String, popReceipt: String, visibilitySeconds: Int64, body: [UInt8]? = nil) async throws -> QueueMessage {
        try await calls.call(QueueMethod.updateMessage, UpdateMessageRequest(queue: queue, messageID: messageID, popReceipt: popReceipt,
                                                                              visibilitySeconds: visibilitySeconds, body: body)).message
    }

    public func delete(_ queue: String, messageID: String, popReceipt: String) async throws {
        _ = try await calls.call(QueueMethod.deleteMessage, MessageRequest(queue: queue, messageID: messageID, popReceipt: popReceipt))
    }
}
