// Swift types of proto/atrest/v1/table.proto.

public struct TableRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.TableRequest"
    public var table: String
    public init(table: String) { self.table = table }
    public init(wire: WireFields) throws { self.init(table: wire.string(1)) }
    public var wire: WireFields { [1: .string(table)] }
}

public struct TableProperties: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.TableProperties"
    public var table: String
    public var createdAtMs: Int64
    public init(table: String, createdAtMs: Int64 = 0) { self.table = table; self.createdAtMs = createdAtMs }
    public init(wire: WireFields) throws { self.init(table: wire.string(1), createdAtMs: wire.int64(2)) }
    public var wire: WireFields { [1: .string(table), 2: .int(createdAtMs)] }
}

public struct TableListRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.TableListRequest"
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

public struct TableListResponse: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.TableListResponse"
    public var tables: [TableProperties]
    public var continuation: String
    public init(tables: [TableProperties], continuation: String = "") { self.tables = tables; self.continuation = continuation }
    public init(wire: WireFields) throws { self.init(tables: try wire.messages(1), continuation: wire.string(2)) }
    public var wire: WireFields { [1: .messages(tables), 2: .string(continuation)] }
}

/// One typed property: `type` names the value field that holds it.
public struct EntityProperty: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.EntityProperty"
    /// The property types, numbered as on the wire.
    public enum Kind: UInt32, Sendable, CaseIterable {
        case string = 1, int32, int64, double, bool, datetime, guid, binary

        /// The name the CLI and the docs use.
        public var name: String { String(describing: self) }
    }

    public var name: String
    /// A `Kind` raw value; other numbers are refused by the worker.
    public var type: UInt32
    public var stringValue: String
    /// int32, int64 and datetime (µs since the Unix epoch).
    public var intValue: Int64
    public var doubleValue: Double
    public var boolValue: Bool
    /// guid (16 bytes) and binary.
    public var bytesValue: [UInt8]

    public init(name: String, type: UInt32, stringValue: String = "", intValue: Int64 = 0, doubleValue: Double = 0, boolValue: Bool = false,
                bytesValue: [UInt8] = []) {
        self.name = name
        self.type = type
        self.stringValue = stringValue
        self.intValue = intValue
        self.doubleValue = doubleValue
        self.boolValue = boolValue
        self.bytesValue = bytesValue
    }
    public init(wire: WireFields) throws {
        self.init(name: wire.string(1), type: wire.uint32(2), stringValue: wire.string(3), intValue: wire.int64(4), doubleValue: wire.double(5),
                  boolValue: wire.bool(6), bytesValue: wire.bytes(7))
    }
    public var wire: WireFields {
        [1: .string(name), 2: .uint(UInt64(type)), 3: .string(stringValue), 4: .int(intValue), 5: .double(doubleValue), 6: .bool(boolValue),
         7: .bytes(bytesValue)]
    }
}

public struct Entity: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.Entity"
    public var partitionKey: String
    public var rowKey: String
    public var properties: [EntityProperty]
    public var etag: String
    public var timestampUs: Int64
    public init(partitionKey: String, rowKey: String, properties: [EntityProperty] = [], etag: String = "", timestampUs: Int64 = 0) {
        self.partitionKey = partitionKey
        self.rowKey = rowKey
        self.properties = properties
        self.etag = etag
        self.timestampUs = timestampUs
    }
    public init(wire: WireFields) throws {
        self.init(partitionKey: wire.string(1), rowKey: wire.string(2), properties: try wire.messages(3), etag: wire.string(4),
                  timestampUs: wire.int64(5))
    }
    public var wire: WireFields {
        [1: .string(partitionKey), 2: .string(rowKey), 3: .messages(properties), 4: .string(etag), 5: .int(timestampUs)]
    }
}

public struct EntityRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.EntityRequest"
    public var table: String
    public var entity: Entity
    public var ifMatch: String
    public init(table: String, entity: Entity, ifMatch: String = "") {
        self.table = table
        self.entity = entity
        self.ifMatch = ifMatch
    }
    public init(wire: WireFields) throws {
        self.init(table: wire.string(1), entity: try wire.message(2) ?? Entity(partitionKey: "", rowKey: ""), ifMatch: wire.string(3))
    }
    public var wire: WireFields { [1: .string(table), 2: .message(entity.wire), 3: .string(ifMatch)] }
}

public struct EntityKeyRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.EntityKeyRequest"
    public var table: String
    public var partitionKey: String
    public var rowKey: String
    public var select: [String]
    public init(table: String, partitionKey: String, rowKey: String, select: [String] = []) {
        self.table = table
        self.partitionKey = partitionKey
        self.rowKey = rowKey
        self.select = select
    }
    public init(wire: WireFields) throws {
        self.init(table: wire.string(1), partitionKey: wire.string(2), rowKey: wire.string(3), select: wire.strings(4))
    }
    public var wire: WireFields { [1: .string(table), 2: .string(partitionKey), 3: .string(rowKey), 4: .strings(select)] }
}

public struct QueryEntitiesRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.QueryEntitiesRequest"
    public var table: String
    public var filter: String
    public var select: [String]
    /// 0: 1000.
    public var top: UInt32
    public var continuation: String
    public init(table: String, filter: String = "", select: [String] = [], top: UInt32 = 0, continuation: String = "") {
        self.table = table
        self.filter = filter
        self.select = select
        self.top = top
        self.continuation = continuation
    }
    public init(wire: WireFields) throws {
        self.init(table: wire.string(1), filter: wire.string(2), select: wire.strings(3), top: wire.uint32(4), continuation: wire.string(5))
    }
    public var wire: WireFields { [1: .string(table), 2: .string(filter), 3: .strings(select), 4: .uint(UInt64(top)), 5: .string(continuation)] }
}

public struct EntityList: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.EntityList"
    public var entities: [Entity]
    /// Empty on the last page.
    public var continuation: String
    public init(entities: [Entity], continuation: String = "") { self.entities = entities; self.continuation = continuation }
    public init(wire: WireFields) throws { self.init(entities: try wire.messages(1), continuation: wire.string(2)) }
    public var wire: WireFields { [1: .messages(entities), 2: .string(continuation)] }
}

public struct EntityOperation: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.EntityOperation"
    /// The operation kinds, numbered as on the wire.
    public enum Kind: UInt32, Sendable, CaseIterable {
        case insert = 1, replace, merge, insertOrReplace, insertOrMerge, delete
    }

    /// A `Kind` raw value; other numbers are refused by the worker.
    public var kind: UInt32
    public var entity: Entity
    public var ifMatch: String
    public init(kind: UInt32, entity: Entity, ifMatch: String = "") {
        self.kind = kind
        self.entity = entity
        self.ifMatch = ifMatch
    }
    public init(wire: WireFields) throws {
        self.init(kind: wire.uint32(1), entity: try wire.message(2) ?? Entity(partitionKey: "", rowKey: ""), ifMatch: wire.string(3))
    }
    public var wire: WireFields { [1: .uint(UInt64(kind)), 2: .message(entity.wire), 3: .string(ifMatch)] }
}

public struct EntityBatchRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.EntityBatchRequest"
    public var table: String
    public var operations: [EntityOperation]
    public init(table: String, operations: [EntityOperation]) { self.table = table; self.operations = operations }
    public init(wire: WireFields) throws { self.init(table: wire.string(1), operations: try wire.messages(2)) }
    public var wire: WireFields { [1: .string(table), 2: .messages(operations)] }
}

public struct EntityBatchResponse: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.EntityBatchResponse"
    public var results: [Entity]
    public init(results: [Entity]) { self.results = results }
    public init(wire: WireFields) throws { self.init(results: try wire.messages(1)) }
    public var wire: WireFields { [1: .messages(results)] }
}
