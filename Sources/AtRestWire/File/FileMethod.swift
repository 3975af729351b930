/// The methods of `service File` (file.proto), served by the crypto workers.
public enum FileMethod {
    public static let service = "atrest.v1.File"
    /// What every file method name starts with (the front door routes on it).
    public static let prefix = service + "/"
    /// The most one WriteFile or ReadFile moves: 4 MiB (callers split larger transfers).
    public static let maxIO = 4 << 20
    public static let createShare = RPCMethod<CreateShareRequest, ShareProperties>(service, "CreateShare")
    public static let deleteShare = RPCMethod<ShareRequest, EmptyMessage>(service, "DeleteShare")
    public static let listShares = RPCMethod<ShareListRequest, ShareListResponse>(service, "ListShares")
    public static let getShareProperties = RPCMethod<ShareRequest, ShareProperties>(service, "GetShareProperties")
    public static let setShareQuota = RPCMethod<SetShareQuotaRequest, ShareProperties>(service, "SetShareQuota")
    public static let setShareMetadata = RPCMethod<ShareRequest, ShareProperties>(service, "SetShareMetadata")
    public static let createDirectory = RPCMethod<CreateFileRequest, FileProperties>(service, "CreateDirectory")
    public static let deleteDirectory = RPCMethod<DeleteDirectoryRequest, EmptyMessage>(service, "DeleteDirectory")
    public static let listDirectory = RPCMethod<ListDirectoryRequest, ListDirectoryResponse>(service, "ListDirectory")
    /// Request payload (optional): the new file's bytes (1 B-4 MiB).
    public static let createFile = RPCMethod<CreateFileRequest, FileProperties>(service, "CreateFile")
    /// Request payload: the bytes.
    public static let writeFile = RPCMethod<WriteFileRequest, EmptyMessage>(service, "WriteFile")
    /// Reply payload: the bytes read.
    public static let readFile = RPCMethod<ReadFileRequest, ReadFileResponse>(service, "ReadFile")
    public static let resizeFile = RPCMethod<ResizeFileRequest, FileProperties>(service, "ResizeFile")
    public static let flushFile = RPCMethod<FileRequest, FileProperties>(service, "FlushFile")
    public static let deleteFile = RPCMethod<FileRequest, EmptyMessage>(service, "DeleteFile")
    public static let getFileProperties = RPCMethod<FileRequest, FileProperties>(service, "GetFileProperties")
    public static let setFileMetadata = RPCMethod<FileRequest, FileProperties>(service, "SetFileMetadata")
    public static let setFileMode = RPCMethod<SetFileModeRequest, FileProperties>(service, "SetFileMode")
    public static let setFileTimes = RPCMethod<SetFileTimesRequest, FileProperties>(service, "SetFileTimes")
    public static let rename = RPCMethod<RenameRequest, EmptyMessage>(service, "Rename")

    public static let all: [RPCMethodInfo] = [
        createShare.info, deleteShare.info, listShares.info, getShareProperties.info, setShareQuota.info, setShareMetadata.info,
        createDirectory.info, deleteDirectory.info, listDirectory.info, createFile.info, writeFile.info, readFile.info,
        resizeFile.info, flushFile.info, deleteFile.info, getFileProperties.info, setFileMetadata.info, setFileMode.info,
        setFileTimes.info, rename.info,
    ]

    /// What an account reader may call: listing, properties and reading.
    public static let readerMethods: Set<String> = [
        listShares.name, getShareProperties.name, listDirectory.name, readFile.name, getFileProperties.name,
    ]
    /// Methods that may run twice without harm (the broker re-queues them
    /// when a worker dies): the reads, and WriteFile — it sets bytes at an
    /// offset to given bytes and grows the size to at least its end, so a
    /// second run leaves what the first one did (a racing writer of the
    /// same bytes may see them replaced by the re-run, as for disk pages).
    public static let idempotent: Set<String> = readerMethods.union([writeFile.name])
}
