import AtRestStorage
import AtRestWire

/// Entities between the wire (`Entity`, `EntityProperty`) and the engine
/// (`TableEntity`, `TableValue`); a property of an unknown type or an
/// int32 out of range is INVALID_ARGUMENT naming the property.
extension TableService {
    static func wire(_ entity: TableEntity) -> Entity {
        Entity(partitionKey: entity.partitionKey, rowKey: entity.rowKey,
               properties: entity.properties.sorted { $0.key < $1.key }.map { wire($0.key, $0.value) },
               etag: entity.etag, timestampUs: entity.timestamp)
    }

    static func wire(_ name: String, _ value: TableValue) -> EntityProperty {
        switch value {
        case .string(let s): EntityProperty(name: name, type: EntityProperty.Kind.string.rawValue, stringValue: s)
        case .int32(let v): EntityProperty(name: name, type: EntityProperty.Kind.int32.rawValue, intValue: Int64(v))
        case .int64(let v): EntityProperty(name: name, type: EntityProperty.Kind.int64.rawValue, intValue: v)
        case .double(let v): EntityProperty(name: name, type: EntityProperty.Kind.double.rawValue, doubleValue: v)
        case .bool(let v): EntityProperty(name: name, type: EntityProperty.Kind.bool.rawValue, boolValue: v)
        case .datetime(let v): EntityProperty(name: name, type: EntityProperty.Kind.datetime.rawValue, intValue: v)
        case .guid(let b): EntityProperty(name: name, type: EntityProperty.Kind.guid.rawValue, bytesValue: b)
        case .binary(let b): EntityProperty(name: name, type: EntityProperty.Kind.binary.rawValue, bytesValue: b)
        }
    }

    static func entity(_ wire: Entity) throws -> TableEntity {
        var properties: [String: TableValue] = [:]
        for property in wire.properties {
            guard properties[property.name] == nil else {
                throw RPCStatus(.invalidArgument, "property '\(property.name.prefix(80))' is given twice")
            }
            properties[property.name] = try value(property)
        }
        return TableEntity(partitionKey: wire.partitionKey, rowKey: wire.rowKey, properties: properties)
    }

    static func value(_ property: EntityProperty) throws -> TableValue {
        switch EntityProperty.Kind(rawValue: property.type) {
        case .string: return .string(property.stringValue)
        case .int32:
            guard let v = Int32(exactly: property.intValue) else {
                throw RPCStatus(.invalidArgument, "int32 property '\(property.name.prefix(80))' is \(property.intValue), out of range: send it as int64")
            }
            return .int32(v)
        case .int64: return .int64(property.intValue)
        case .double: return .double(property.doubleValue)
        case .bool: return .bool(property.boolValue)
        case .datetime: return .datetime(property.intValue)
        case .guid: return .guid(property.bytesValue)
        case .binary: return .binary(property.bytesValue)
        case nil:
            throw RPCStatus(.invalidArgument, "property '\(property.name.prefix(80))' has type \(property.type); the types are 1 string, 2 int32, 3 int64, 4 double, 5 bool, 6 datetime, 7 guid, 8 binary")
        }
    }

    static func operation(_ wire: EntityOperation, index: Int) throws -> TableOperation {
        let kinds: [EntityOperation.Kind: TableOperation.Kind] = [.insert: .insert, .replace: .replace, .merge: .merge,
                                                                  .insertOrReplace: .insertOrReplace, .insertOrMerge: .insertOrMerge, .delete: .delete]
        guard let kind = EntityOperation.Kind(rawValue: wire.kind).flatMap({ kinds[$0] }) else {
            throw RPCStatus(.invalidArgument, "operation \(index) has kind \(wire.kind); the kinds are 1 insert, 2 replace, 3 merge, 4 insert-or-replace, 5 insert-or-merge, 6 delete")
        }
        return TableOperation(kind, try entity(wire.entity), ifMatch: wire.ifMatch)
    }
}
