/// The methods of `service Blob` (blob.proto), served by the crypto workers.
public enum BlobMethod {
    public static let service = "atrest.v1.Blob"
    /// What every blob method name starts with (the front door routes on it).
    public static let prefix = service + "/"
    public static let createContainer = RPCMethod<ContainerRequest, EmptyMessage>(service, "CreateContainer")
    public static let listContainers = RPCMethod<EmptyMessage, ContainerListResponse>(service, "ListContainers")
    public static let deleteContainer = RPCMethod<ContainerRequest, EmptyMessage>(service, "DeleteContainer")
    public static let put = RPCMethod<BlobPutRequest, BlobProperties>(service, "Put")
    public static let get = RPCMethod<BlobGetRequest, BlobGetResponse>(service, "Get")
    public static let getProperties = RPCMethod<BlobRequest, BlobProperties>(service, "GetProperties")
    public static let setMetadata = RPCMethod<BlobSetMetadataRequest, BlobProperties>(service, "SetMetadata")
    public static let list = RPCMethod<BlobListRequest, BlobListResponse>(service, "List")
    public static let delete = RPCMethod<BlobRequest, EmptyMessage>(service, "Delete")
    public static let stageBlock = RPCMethod<StageBlockRequest, StageBlockResponse>(service, "StageBlock")
    public static let commitBlocks = RPCMethod<CommitBlocksRequest, BlobProperties>(service, "CommitBlocks")
    /// One page of a container rewritten under the current account key version (owner).
    public static let reencrypt = RPCMethod<BlobReencryptRequest, BlobReencryptResponse>(service, "Reencrypt")

    public static let all: [RPCMethodInfo] = [
        createContainer.info, listContainers.info, deleteContainer.info, put.info, get.info, getProperties.info,
        setMetadata.info, list.info, delete.info, stageBlock.info, commitBlocks.info, reencrypt.info,
    ]

    /// Methods that only read (an account reader may call them).
    public static let readOnly: Set<String> = [listContainers.name, get.name, getProperties.name, list.name]
    /// Methods that may run twice without harm (the broker re-queues them
    /// when a worker dies): reads, and StageBlock (same id → same block).
    public static let idempotent: Set<String> = readOnly.union([stageBlock.name])
}
