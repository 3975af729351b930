/// A message as a queue call returns it. Times are milliseconds since the
/// Unix epoch; `expirationTime` is nil for a message that never expires.
public struct QueuedMessage: Sendable, Equatable {
    /// 32 hex digits, random, the same for the message's whole life.
    public var id: String
    public var body: [UInt8]
    public var insertionTime: Int64
    public var expirationTime: Int64?
    public var nextVisibleTime: Int64
    /// How many times `get` handed it out.
    public var dequeueCount: UInt32
    /// Set by put, get and update (what delete and update need); nil from peek.
    public var popReceipt: String?

    public init(id: String, body: [UInt8], insertionTime: Int64, expirationTime: Int64?, nextVisibleTime: Int64,
                dequeueCount: UInt32, popReceipt: String?) {
        self.id = id
        self.body = body
        self.insertionTime = insertionTime
        self.expirationTime = expirationTime
        self.nextVisibleTime = nextVisibleTime
        self.dequeueCount = dequeueCount
        self.popReceipt = popReceipt
    }
}

/// A queue's name, metadata and (from `properties`) approximate size.
public struct QueueInfo: Sendable, Equatable {
    public var name: String
    public var metadata: [String: String]
    public var creationTime: Int64
    /// Messages stored, visible or not (expired ones until they are removed); nil from `list`.
    public var approximateMessageCount: Int?

    public init(name: String, metadata: [String: String], creationTime: Int64, approximateMessageCount: Int? = nil) {
        self.name = name
        self.metadata = metadata
        self.creationTime = creationTime
        self.approximateMessageCount = approximateMessageCount
    }
}

/// One page of queues, by name.
public struct QueueListing: Sendable, Equatable {
    public var queues: [QueueInfo]
    /// Pass back to continue after the last queue; nil on the last page.
    public var continuation: String?

    public init(queues: [QueueInfo], continuation: String?) {
        self.queues = queues
        self.continuation = continuation
    }
}

/// How long a message lives.
public enum QueueTimeToLive: Sendable, Equatable {
    /// Seven days.
    case standard
    case seconds(Int64)
    case never
}
