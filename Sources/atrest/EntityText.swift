import ArgumentParser
import AtRestWire
import Foundation

/// Properties as people type and read them: `NAME=TYPE:VALUE`, datetimes
/// in ISO 8601, guids in their usual form, binaries in base64.
enum EntityText {
    static func property(_ text: String) throws -> EntityProperty {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
            throw CLIFailure(message: "property '\(text)' is not NAME=TYPE:VALUE", exitCode: ExitCodes.usage)
        }
        let name = String(text[..<equals]), rest = String(text[text.index(after: equals)...])
        if let colon = rest.firstIndex(of: ":"), let kind = EntityProperty.Kind.allCases.first(where: { $0.name == rest[..<colon] }) {
            return try property(name, kind, String(rest[rest.index(after: colon)...]))
        }
        return EntityProperty(name: name, type: EntityProperty.Kind.string.rawValue, stringValue: rest)
    }

    static func property(_ name: String, _ kind: EntityProperty.Kind, _ value: String) throws -> EntityProperty {
        func bad(_ form: String) -> CLIFailure {
            CLIFailure(message: "property '\(name)': '\(value)' is not a \(kind.name) (\(form))", exitCode: ExitCodes.usage)
        }
        var property = EntityProperty(name: name, type: kind.rawValue)
        switch kind {
        case .string: property.stringValue = value
        case .int32: guard let v = Int32(value) else { throw bad("-2147483648 to 2147483647") }; property.intValue = Int64(v)
        case .int64: guard let v = Int64(value) else { throw bad("a 64-bit integer") }; property.intValue = v
        case .double: guard let v = Double(value) else { throw bad("e.g. 2.5") }; property.doubleValue = v
        case .bool: guard let v = Bool(value) else { throw bad("true or false") }; property.boolValue = v
        case .datetime: guard let v = micros(value) else { throw bad("ISO 8601, e.g. 2026-01-02T03:04:05.678Z") }; property.intValue = v
        case .guid:
            guard let uuid = UUID(uuidString: value) else { throw bad("xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx") }
            property.bytesValue = withUnsafeBytes(of: uuid.uuid) { Array($0) }
        case .binary: guard let data = Data(base64Encoded: value) else { throw bad("base64") }; property.bytesValue = [UInt8](data)
        }
        return property
    }

    /// The value as `property` reads it back (JSON gets the same text).
    static func text(_ property: EntityProperty) -> String {
        switch EntityProperty.Kind(rawValue: property.type) {
        case .string: property.stringValue
        case .int32, .int64: String(property.intValue)
        case .double: String(property.doubleValue)
        case .bool: String(property.boolValue)
        case .datetime: datetime(property.intValue)
        case .guid where property.bytesValue.count == 16:
            UUID(uuid: property.bytesValue.withUnsafeBytes { $0.loadUnaligned(as: uuid_t.self) }).uuidString.lowercased()
        case .binary, .guid: Data(property.bytesValue).base64EncodedString()
        case nil: "?"
        }
    }

    static func typeName(_ property: EntityProperty) -> String { EntityProperty.Kind(rawValue: property.type)?.name ?? "type \(property.type)" }

    static func micros(_ text: String) -> Int64? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard let date = formatter.date(from: text) ?? ISO8601DateFormatter().date(from: text) else { return nil }
        return Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    static func datetime(_ micros: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(micros) / 1_000_000))
    }
}

/// Entities as a table (one column per property name) or, for one, as a
/// record; `--json`: objects with PartitionKey, RowKey, ETag, Timestamp and
/// properties {name: {type, value}}.
func printEntities(_ entities: [Entity], _ output: Output, one: Bool) {
    if output.json {
        let objects: [[String: Any]] = entities.map { entity in
            ["PartitionKey": entity.partitionKey, "RowKey": entity.rowKey, "ETag": entity.etag, "Timestamp": EntityText.datetime(entity.timestampUs),
             "properties": Dictionary(entity.properties.map { ($0.name, ["type": EntityText.typeName($0), "value": EntityText.text($0)]) }) { $1 }]
        }
        if one, let object = objects.first { output.emitJSON(object) } else { output.emitJSON(objects) }
        return
    }
    if one, let entity = entities.first {
        let lines = [("PartitionKey", entity.partitionKey), ("RowKey", entity.rowKey), ("ETag", entity.etag), ("Timestamp", EntityText.datetime(entity.timestampUs))]
            + entity.properties.map { ($0.name, "\(EntityText.text($0)) (\(EntityText.typeName($0)))") }
        let width = lines.map(\.0.count).max() ?? 0
        for (key, value) in lines { print(key.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + value) }
        return
    }
    let names = Array(Set(entities.flatMap { $0.properties.map(\.name) })).sorted()
    output.table(["PartitionKey", "RowKey", "Timestamp"] + names, entities.map { entity in
        let values = Dictionary(entity.properties.map { ($0.name, EntityText.text($0)) }) { $1 }
        return [entity.partitionKey, entity.rowKey, EntityText.datetime(entity.timestampUs)] + names.map { values[$0] ?? "" }
    })
}
