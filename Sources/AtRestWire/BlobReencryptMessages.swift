/// `Blob/Reencrypt` (blob.proto): one page of a container rewritten under the
/// account's current account key version.
public struct BlobReencryptRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.BlobReencryptRequest"
    public var container: String
    public var pageToken: String
    public var maxObjects: UInt32
    /// `AccountData/Reencrypt` only: "" for the blobs of `container`, or one
    /// of `recordKinds` for every record of that kind in the account.
    public var kind: String

    /// The kinds kept in record maps, in the order a whole-account job walks them.
    public static let recordKinds = ["queues", "tables", "disks", "shares"]
    /// The most records one page of a record kind may ask for (`max_objects`).
    public static let maxRecordsPerPage: UInt32 = 10_000

    public init(container: String, pageToken: String = "", maxObjects: UInt32 = 0, kind: String = "") {
        self.container = container
        self.pageToken = pageToken
        self.maxObjects = maxObjects
        self.kind = kind
    }

    public init(wire: WireFields) throws {
        self.init(container: wire.string(1), pageToken: wire.string(2), maxObjects: wire.uint32(3), kind: wire.string(4))
    }

    public var wire: WireFields { [1: .string(container), 2: .string(pageToken), 3: .uint(maxObjects), 4: .string(kind)] }
}

public struct BlobReencryptResponse: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.BlobReencryptResponse"
    public var objects: UInt32
    public var rewritten: UInt32
    public var bytes: UInt64
    public var raced: UInt32
    public var skipped: UInt32
    /// Empty: the container is done.
    public var nextPageToken: String
    public var accountKeyVersion: UInt32

    public init(objects: UInt32 = 0, rewritten: UInt32 = 0, bytes: UInt64 = 0, raced: UInt32 = 0, skipped: UInt32 = 0,
                nextPageToken: String = "", accountKeyVersion: UInt32 = 0) {
        self.objects = objects
        self.rewritten = rewritten
        self.bytes = bytes
        self.raced = raced
        self.skipped = skipped
        self.nextPageToken = nextPageToken
        self.accountKeyVersion = accountKeyVersion
    }

    public init(wire: WireFields) throws {
        self.init(objects: wire.uint32(1), rewritten: wire.uint32(2), bytes: wire.uint64(3), raced: wire.uint32(4),
                  skipped: wire.uint32(5), nextPageToken: wire.string(6), accountKeyVersion: wire.uint32(7))
    }

    public var wire: WireFields {
        [1: .uint(objects), 2: .uint(rewritten), 3: .uint(bytes), 4: .uint(raced), 5: .uint(skipped), 6: .string(nextPageToken),
         7: .uint(accountKeyVersion)]
    }
}
