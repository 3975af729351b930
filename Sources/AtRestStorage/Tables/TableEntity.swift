/// An entity as table calls take and return it: its keys, typed properties
/// and, from the store, its ETag and Timestamp (µs since the Unix epoch).
public struct TableEntity: Sendable, Equatable {
    public var partitionKey: String
    public var rowKey: String
    public var properties: [String: TableValue]
    /// Changes on every write; "" on an entity not stored yet.
    public var etag: String
    /// The server's time of the last write; 0 on an entity not stored yet.
    public var timestamp: Int64

    public init(partitionKey: String, rowKey: String, properties: [String: TableValue] = [:], etag: String = "", timestamp: Int64 = 0) {
        self.partitionKey = partitionKey
        self.rowKey = rowKey
        self.properties = properties
        self.etag = etag
        self.timestamp = timestamp
    }

    /// The entity with only the properties named in `select` (nil: all).
    public func selecting(_ select: [String]?) -> TableEntity {
        guard let select, !select.isEmpty else { return self }
        var copy = self
        copy.properties = properties.filter { select.contains($0.key) }
        return copy
    }

    /// (PartitionKey, RowKey) order: by UTF-8 bytes, as queries return entities.
    static func precedes(_ a: (String, String), _ b: (String, String)) -> Bool {
        if a.0 != b.0 { return a.0.utf8.lexicographicallyPrecedes(b.0.utf8) }
        return a.1.utf8.lexicographicallyPrecedes(b.1.utf8)
    }
}

/// One write of a batch (or a single write): the kind, the entity, and
/// If-Match for replace, merge and delete: an ETag, or "*" for any version.
public struct TableOperation: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case insert, replace, merge, insertOrReplace, insertOrMerge, delete
    }

    public var kind: Kind
    public var entity: TableEntity
    public var ifMatch: String

    public init(_ kind: Kind, _ entity: TableEntity, ifMatch: String = "") {
        self.kind = kind
        self.entity = entity
        self.ifMatch = ifMatch
    }
}

/// A table's name and creation time (ms since the Unix epoch).
public struct TableInfo: Sendable, Equatable {
    public var name: String
    public var creationTime: Int64

    public init(name: String, creationTime: Int64) {
        self.name = name
        self.creationTime = creationTime
    }
}

/// One page of tables, by name.
public struct TableListing: Sendable, Equatable {
    public var tables: [TableInfo]
    /// Pass back to continue after the last table; nil on the last page.
    public var continuation: String?

    public init(tables: [TableInfo], continuation: String?) {
        self.tables = tables
        self.continuation = continuation
    }
}

/// One page of a query, in (PartitionKey, RowKey) order.
public struct EntityPage: Sendable, Equatable {
    public var entities: [TableEntity]
    /// Opaque and sealed: pass back to continue; nil on the last page.
    public var continuation: String?

    public init(entities: [TableEntity], continuation: String?) {
        self.entities = entities
        self.continuation = continuation
    }
}
