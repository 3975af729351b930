// Swift types of proto/atrest/v1/blob.proto. Bulk bytes are payload frames,
// never fields of these messages.

public struct ContainerRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.ContainerRequest"
    public var container: String
    public var force: Bool
    /// CreateContainer: the encryption scope of writes naming none ("": the account's current key).
    public var defaultScope = ""
    /// CreateContainer: a write naming another scope than `defaultScope` is refused.
    public var enforceScope = false
    public init(container: String, force: Bool = false) { self.container = container; self.force = force }
    public init(container: String, defaultScope: String, enforceScope: Bool = false) {
        self.init(container: container)
        self.defaultScope = defaultScope
        self.enforceScope = enforceScope
    }
    public init(wire: WireFields) throws {
        self.init(container: wire.string(1), force: wire.bool(2))
        defaultScope = wire.string(10)
        enforceScope = wire.bool(11)
    }
    public var wire: WireFields { [1: .string(container), 2: .bool(force), 10: .string(defaultScope), 11: .bool(enforceScope)] }
}

public struct ContainerListResponse: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.ContainerListResponse"
    public var containers: [String]
    public init(containers: [String]) { self.containers = containers }
    public init(wire: WireFields) throws { self.init(containers: wire.strings(1)) }
    public var wire: WireFields { [1: .strings(containers)] }
}

public struct BlobProperties: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.BlobProperties"
    public var container: String
    public var name: String
    public var length: UInt64
    public var contentType: String
    public var createdAtMs: Int64
    public var contentHash: [UInt8]
    public var metadata: [String: String]

    public init(container: String, name: String, length: UInt64 = 0, contentType: String = "", createdAtMs: Int64 = 0,
                contentHash: [UInt8] = [], metadata: [String: String] = [:]) {
        self.container = container
        self.name = name
        self.length = length
        self.contentType = contentType
        self.createdAtMs = createdAtMs
        self.contentHash = contentHash
        self.metadata = metadata
    }

    public init(wire: WireFields) throws {
        self.init(container: wire.string(1), name: wire.string(2), length: wire.uint64(3), contentType: wire.string(4),
                  createdAtMs: wire.int64(5), contentHash: wire.bytes(6), metadata: wire.stringMap(7))
    }

    public var wire: WireFields {
        [1: .string(container), 2: .string(name), 3: .uint(length), 4: .string(contentType), 5: .int(createdAtMs),
         6: .bytes(contentHash), 7: .map(metadata)]
    }
}

public struct BlobPutRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.BlobPutRequest"
    public var container: String
    public var name: String
    public var contentType: String
    public var metadata: [String: String]
    public var contentHash: [UInt8]
    /// A customer-provided key (fields 20-21); redacted in descriptions.
    public var encryptionKey: CustomerProvidedKey?
    /// The encryption scope to seal under ("": the container's default, else the account's current key).
    public var scope = ""

    public init(container: String, name: String, contentType: String = "", metadata: [String: String] = [:],
                contentHash: [UInt8] = [], encryptionKey: CustomerProvidedKey? = nil) {
        self.container = container
        self.name = name
        self.contentType = contentType
        self.metadata = metadata
        self.contentHash = contentHash
        self.encryptionKey = encryptionKey
    }

    public init(wire: WireFields) throws {
        self.init(container: wire.string(1), name: wire.string(2), contentType: wire.string(3),
                  metadata: wire.stringMap(4), contentHash: wire.bytes(5), encryptionKey: CustomerProvidedKey(wire: wire))
        scope = wire.string(10)
    }

    public var wire: WireFields {
        .adding(encryptionKey, to: [1: .string(container), 2: .string(name), 3: .string(contentType), 4: .map(metadata),
                                    5: .bytes(contentHash), 10: .string(scope)])
    }
}

public struct BlobRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.BlobRequest"
    public var container: String
    public var name: String
    /// A customer-provided key (fields 20-21): GetProperties of a blob written with one.
    public var encryptionKey: CustomerProvidedKey?
    public init(container: String, name: String, encryptionKey: CustomerProvidedKey? = nil) {
        self.container = container
        self.name = name
        self.encryptionKey = encryptionKey
    }
    public init(wire: WireFields) throws {
        self.init(container: wire.string(1), name: wire.string(2), encryptionKey: CustomerProvidedKey(wire: wire))
    }
    public var wire: WireFields { .adding(encryptionKey, to: [1: .string(container), 2: .string(name)]) }
}

public struct BlobGetRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.BlobGetRequest"
    public var container: String
    public var name: String
    /// nil: the whole blob.
    public var range: Range<UInt64>?
    /// A customer-provided key (fields 20-21): needed for a blob written with one.
    public var encryptionKey: CustomerProvidedKey?

    public init(container: String, name: String, range: Range<UInt64>? = nil, encryptionKey: CustomerProvidedKey? = nil) {
        self.container = container
        self.name = name
        self.range = range
        self.encryptionKey = encryptionKey
    }

    public init(wire: WireFields) throws {
        let offset = wire.uint64(4), length = wire.uint64(5)
        guard offset <= UInt64.max - length else { throw WireError(.invalidField, "range offset + length overflows") }
        self.init(container: wire.string(1), name: wire.string(2), range: wire.bool(3) ? offset..<(offset + length) : nil,
                  encryptionKey: CustomerProvidedKey(wire: wire))
    }

    public var wire: WireFields {
        .adding(encryptionKey, to: [1: .string(container), 2: .string(name), 3: .bool(range != nil),
                                    4: .uint(range?.lowerBound ?? 0), 5: .uint(UInt64(range?.count ?? 0))])
    }
}

public struct BlobGetResponse: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.BlobGetResponse"
    public var properties: BlobProperties
    public var offset: UInt64
    public init(properties: BlobProperties, offset: UInt64) { self.properties = properties; self.offset = offset }
    public init(wire: WireFields) throws {
        self.init(properties: try wire.message(1) ?? BlobProperties(container: "", name: ""), offset: wire.uint64(2))
    }
    public var wire: WireFields { [1: WireValue(properties), 2: .uint(offset)] }
}

public struct BlobSetMetadataRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.BlobSetMetadataRequest"
    public var container: String
    public var name: String
    public var metadata: [String: String]
    /// nil: keep the content type.
    public var contentType: String?
    /// A customer-provided key (fields 20-21): needed for a blob written with one.
    public var encryptionKey: CustomerProvidedKey?

    public init(container: String, name: String, metadata: [String: String], contentType: String? = nil,
                encryptionKey: CustomerProvidedKey? = nil) {
        self.container = container
        self.name = name
        self.metadata = metadata
        self.contentType = contentType
        self.encryptionKey = encryptionKey
    }

    public init(wire: WireFields) throws {
        self.init(container: wire.string(1), name: wire.string(2), metadata: wire.stringMap(3),
                  contentType: wire.bool(4) ? wire.string(5) : nil, encryptionKey: CustomerProvidedKey(wire: wire))
    }

    public var wire: WireFields {
        .adding(encryptionKey, to: [1: .string(container), 2: .string(name), 3: .map(metadata), 4: .bool(contentType != nil),
                                    5: .string(contentType ?? "")])
    }
}

public struct BlobListRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.BlobListRequest"
    public var container: String
    public var prefix: String
    public var pageToken: String
    public var maxResults: UInt32

    public init(container: String, prefix: String = "", pageToken: String = "", maxResults: UInt32 = 0) {
        self.container = container
        self.prefix = prefix
        self.pageToken = pageToken
        self.maxResults = maxResults
    }

    public init(wire: WireFields) throws {
        self.init(container: wire.string(1), prefix: wire.string(2), pageToken: wire.string(3), maxResults: wire.uint32(4))
    }

    public var wire: WireFields { [1: .string(container), 2: .string(prefix), 3: .string(pageToken), 4: .uint(maxResults)] }
}

public struct BlobListResponse: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.BlobListResponse"
    public var blobs: [BlobProperties]
    public var nextPageToken: String
    /// Objects that failed authentication (first page only); see blob.proto.
    public var damagedCount: UInt32
    /// Their storage ids (keyed-hash names), at most `maxDamagedIDs`.
    public var damagedIDs: [String]
    public static let maxDamagedIDs = 100

    public init(blobs: [BlobProperties], nextPageToken: String = "", damagedCount: UInt32 = 0, damagedIDs: [String] = []) {
        self.blobs = blobs
        self.nextPageToken = nextPageToken
        self.damagedCount = damagedCount
        self.damagedIDs = damagedIDs
    }

    public init(wire: WireFields) throws {
        self.init(blobs: try wire.messages(1), nextPageToken: wire.string(2), damagedCount: wire.uint32(3),
                  damagedIDs: wire.strings(4))
    }

    public var wire: WireFields {
        [1: .messages(blobs), 2: .string(nextPageToken), 3: .uint(damagedCount), 4: .strings(damagedIDs)]
    }
}

public struct StageBlockRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.StageBlockRequest"
    public var container: String
    public var name: String
    public var blockID: [UInt8]
    public var contentHash: [UInt8]
    /// As `BlobPutRequest.scope` (a block is sealed when staged).
    public var scope = ""

    public init(container: String, name: String, blockID: [UInt8], contentHash: [UInt8] = []) {
        self.container = container
        self.name = name
        self.blockID = blockID
        self.contentHash = contentHash
    }

    public init(wire: WireFields) throws {
        self.init(container: wire.string(1), name: wire.string(2), blockID: wire.bytes(3), contentHash: wire.bytes(4))
        scope = wire.string(10)
    }

    public var wire: WireFields {
        [1: .string(container), 2: .string(name), 3: .bytes(blockID), 4: .bytes(contentHash), 10: .string(scope)]
    }
}

public struct StageBlockResponse: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.StageBlockResponse"
    public var blockID: [UInt8]
    public var length: UInt64
    public var contentHash: [UInt8]
    public init(blockID: [UInt8], length: UInt64, contentHash: [UInt8]) {
        self.blockID = blockID
        self.length = length
        self.contentHash = contentHash
    }
    public init(wire: WireFields) throws { self.init(blockID: wire.bytes(1), length: wire.uint64(2), contentHash: wire.bytes(3)) }
    public var wire: WireFields { [1: .bytes(blockID), 2: .uint(length), 3: .bytes(contentHash)] }
}

public struct CommitBlocksRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.CommitBlocksRequest"
    public var container: String
    public var name: String
    public var blockIDs: [[UInt8]]
    public var contentType: String
    public var metadata: [String: String]
    /// As `BlobPutRequest.scope` (for the block list object).
    public var scope = ""

    public init(container: String, name: String, blockIDs: [[UInt8]], contentType: String = "", metadata: [String: String] = [:]) {
        self.container = container
        self.name = name
        self.blockIDs = blockIDs
        self.contentType = contentType
        self.metadata = metadata
    }

    public init(wire: WireFields) throws {
        let ids: [[UInt8]] = wire.list(3).compactMap { if case .bytes(let b) = $0 { b } else { nil } }
        self.init(container: wire.string(1), name: wire.string(2), blockIDs: ids, contentType: wire.string(4),
                  metadata: wire.stringMap(5))
        scope = wire.string(10)
    }

    public var wire: WireFields {
        [1: .string(container), 2: .string(name), 3: .list(blockIDs.map { .bytes($0) }), 4: .string(contentType),
         5: .map(metadata), 10: .string(scope)]
    }
}
