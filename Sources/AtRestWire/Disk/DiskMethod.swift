/// The methods of `service Disk` (disk.proto), served by the crypto workers.
public enum DiskMethod {
    public static let service = "atrest.v1.Disk"
    /// What every disk method name starts with (the front door routes on it).
    public static let prefix = service + "/"
    /// Sizes, offsets and written or cleared ranges are multiples of a page.
    public static let pageSize = 512
    /// The most one PutPages or GetPages moves: 4 MiB (callers split larger transfers).
    public static let maxIO = 4 << 20
    public static let createDisk = RPCMethod<CreateDiskRequest, DiskProperties>(service, "CreateDisk")
    public static let deleteDisk = RPCMethod<DiskRequest, EmptyMessage>(service, "DeleteDisk")
    public static let listDisks = RPCMethod<DiskListRequest, DiskListResponse>(service, "ListDisks")
    public static let getDiskProperties = RPCMethod<DiskRequest, DiskProperties>(service, "GetDiskProperties")
    public static let setDiskMetadata = RPCMethod<DiskRequest, DiskProperties>(service, "SetDiskMetadata")
    public static let resizeDisk = RPCMethod<ResizeDiskRequest, DiskProperties>(service, "ResizeDisk")
    /// Request payload: the page bytes.
    public static let putPages = RPCMethod<PutPagesRequest, EmptyMessage>(service, "PutPages")
    /// Several PutPages in one call (the ranges' bytes one after another as the payload); at most `maxRanges`.
    public static let putPageRanges = RPCMethod<PutPageRangesRequest, EmptyMessage>(service, "PutPageRanges")
    public static let maxRanges = 1024
    public static let clearPages = RPCMethod<DiskRangeRequest, EmptyMessage>(service, "ClearPages")
    /// Reply payload: the bytes read.
    public static let getPages = RPCMethod<DiskRangeRequest, GetPagesResponse>(service, "GetPages")
    public static let listPageRanges = RPCMethod<DiskRangeRequest, PageRangesResponse>(service, "ListPageRanges")

    public static let all: [RPCMethodInfo] = [
        createDisk.info, deleteDisk.info, listDisks.info, getDiskProperties.info, setDiskMetadata.info, resizeDisk.info,
        putPages.info, putPageRanges.info, clearPages.info, getPages.info, listPageRanges.info,
    ]

    /// What an account reader may call: listing, properties, reading pages and their ranges.
    public static let readerMethods: Set<String> = [listDisks.name, getDiskProperties.name, getPages.name, listPageRanges.name]
    /// Methods that may run twice without harm (the broker re-queues them
    /// when a worker dies): the reads, and the page writes — PutPages,
    /// PutPageRanges and ClearPages set pages to given bytes (zeros), so a second run leaves
    /// what the first one would have. (A racing writer of the same pages
    /// may see its bytes replaced by the re-run: callers that need order
    /// wait for the reply, as block devices do.)
    public static let idempotent: Set<String> = readerMethods.union([putPages.name, putPageRanges.name, clearPages.name])
}
