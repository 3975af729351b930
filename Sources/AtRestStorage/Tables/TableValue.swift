/// A property value of a table entity: the types cloud tables have.
/// `datetime` is microseconds since the Unix epoch (UTC); `guid` is 16 bytes.
public enum TableValue: Sendable, Hashable {
    case string(String)
    case int32(Int32)
    case int64(Int64)
    case double(Double)
    case bool(Bool)
    case datetime(Int64)
    case guid([UInt8])
    case binary([UInt8])

    /// The type's name as the filter language, the CLI and PROTOCOL.md spell it.
    public var typeName: String {
        switch self {
        case .string: "string"
        case .int32: "int32"
        case .int64: "int64"
        case .double: "double"
        case .bool: "bool"
        case .datetime: "datetime"
        case .guid: "guid"
        case .binary: "binary"
        }
    }

    /// The type's tag in the sealed entity encoding (docs/FORMAT.md "Tables").
    var tag: UInt8 {
        switch self {
        case .string: 1
        case .int32: 2
        case .int64: 3
        case .double: 4
        case .bool: 5
        case .datetime: 6
        case .guid: 7
        case .binary: 8
        }
    }

    /// Bytes the value adds to the encoded entity (its share of the 1 MiB limit).
    var encodedSize: Int {
        switch self {
        case .string(let s): 5 + s.utf8.count
        case .binary(let b): 5 + b.count
        case .int32: 5
        case .int64, .double, .datetime: 9
        case .bool: 2
        case .guid: 17
        }
    }

    func encode(into w: inout ByteWriter) {
        w.u8(tag)
        switch self {
        case .string(let s): w.u32(UInt32(s.utf8.count)); w.raw(s.utf8)
        case .binary(let b): w.u32(UInt32(b.count)); w.raw(b)
        case .int32(let v): w.u32(UInt32(bitPattern: v))
        case .int64(let v), .datetime(let v): w.u64(UInt64(bitPattern: v))
        case .double(let v): w.u64(v.bitPattern)
        case .bool(let v): w.u8(v ? 1 : 0)
        case .guid(let g): w.raw(g)
        }
    }

    static func decode(from r: inout ByteReader) throws -> TableValue {
        switch try r.u8() {
        case 1:
            guard let s = String(validating: try r.take(Int(try r.u32())), as: UTF8.self) else { throw StorageError.integrity("entity string is not UTF-8") }
            return .string(s)
        case 2: return .int32(Int32(bitPattern: try r.u32()))
        case 3: return .int64(Int64(bitPattern: try r.u64()))
        case 4: return .double(Double(bitPattern: try r.u64()))
        case 5: return .bool(try r.u8() != 0)
        case 6: return .datetime(Int64(bitPattern: try r.u64()))
        case 7: return .guid(Array(try r.take(16)))
        case 8: return .binary(Array(try r.take(Int(try r.u32()))))
        case let tag: throw StorageError(.unsupportedFormat, "entity property type \(tag) is not one this build reads")
        }
    }
}
