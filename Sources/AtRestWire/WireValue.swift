/// One field value of a protobuf message, as plain Swift data.
///
/// The mapping layer converts between these values and protobuf-c's C
/// structs, driven by the generated descriptors; nothing above this module
/// sees a C type. Integer kinds fold into two cases (signed and unsigned), and
/// `float` into `double`: the descriptor says how each is stored.
public enum WireValue: Sendable, Equatable {
    /// int32, sint32, sfixed32, int64, sint64, sfixed64 and enum fields.
    case int(Int64)
    /// uint32, fixed32, uint64 and fixed64 fields.
    case uint(UInt64)
    case bool(Bool)
    /// float and double fields.
    case double(Double)
    case string(String)
    case bytes([UInt8])
    case message(WireFields)
    /// A repeated field (map fields are repeated entry messages, keys at 1, values at 2).
    case list([WireValue])
}

extension WireValue {
    /// A nested message.
    public init(_ message: some WireMessage) { self = .message(message.wire) }

    /// A repeated nested message field.
    public static func messages(_ messages: [some WireMessage]) -> WireValue {
        .list(messages.map { .message($0.wire) })
    }

    /// A `map<string, string>` field.
    public static func map(_ map: [String: String]) -> WireValue {
        .list(map.sorted { $0.key < $1.key }.map { key, value in
            .message(WireFields([1: .string(key), 2: .string(value)]))
        })
    }

    /// A `repeated string` field.
    public static func strings(_ strings: [String]) -> WireValue {
        .list(strings.map { .string($0) })
    }

    public static func uint(_ value: UInt32) -> WireValue { .uint(UInt64(value)) }
    public static func int(_ value: Int32) -> WireValue { .int(Int64(value)) }
}
