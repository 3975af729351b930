/// The methods of `service Queue` (queue.proto), served by the crypto workers.
public enum QueueMethod {
    public static let service = "atrest.v1.Queue"
    /// What every queue method name starts with (the front door routes on it).
    public static let prefix = service + "/"
    public static let createQueue = RPCMethod<QueueRequest, EmptyMessage>(service, "CreateQueue")
    public static let deleteQueue = RPCMethod<QueueRequest, EmptyMessage>(service, "DeleteQueue")
    public static let listQueues = RPCMethod<QueueListRequest, QueueListResponse>(service, "ListQueues")
    public static let getQueueProperties = RPCMethod<QueueRequest, QueueProperties>(service, "GetQueueProperties")
    public static let setQueueMetadata = RPCMethod<QueueRequest, QueueProperties>(service, "SetQueueMetadata")
    public static let clearMessages = RPCMethod<QueueRequest, EmptyMessage>(service, "ClearMessages")
    public static let putMessage = RPCMethod<PutMessageRequest, QueueMessage>(service, "PutMessage")
    public static let getMessages = RPCMethod<GetMessagesRequest, QueueMessageList>(service, "GetMessages")
    public static let peekMessages = RPCMethod<PeekMessagesRequest, QueueMessageList>(service, "PeekMessages")
    public static let updateMessage = RPCMethod<UpdateMessageRequest, QueueMessage>(service, "UpdateMessage")
    public static let deleteMessage = RPCMethod<MessageRequest, EmptyMessage>(service, "DeleteMessage")

    public static let all: [RPCMethodInfo] = [
        createQueue.info, deleteQueue.info, listQueues.info, getQueueProperties.info, setQueueMetadata.info, clearMessages.info,
        putMessage.info, getMessages.info, peekMessages.info, updateMessage.info, deleteMessage.info,
    ]

    /// What an account reader may call: listing, properties, peek, and get
    /// (which hides messages for a while but changes no content).
    public static let readerMethods: Set<String> = [listQueues.name, getQueueProperties.name, peekMessages.name, getMessages.name]
    /// Methods that may run twice without harm (the broker re-queues them
    /// when a worker dies). GetMessages is not: a re-run would claim more
    /// messages (they would come back after their timeout, unacknowledged).
    public static let idempotent: Set<String> = [listQueues.name, getQueueProperties.name, peekMessages.name]
}
