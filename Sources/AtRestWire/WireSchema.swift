internal import CAtRestProto

/// The fields of a generated message as its protobuf-c descriptor declares
/// them: what a test needs to build a value with every field set and to check
/// a mapping against the contract (WireContractTests).
public enum WireSchema {
    public struct Field: Sendable, Equatable {
        public enum Kind: Sendable, Equatable {
            /// int32, sint32, sfixed32, int64, sint64, sfixed64 (`WireValue.int`).
            case signed
            /// uint32, fixed32, uint64, fixed64 (`WireValue.uint`).
            case unsigned
            /// An enum (`WireValue.int`).
            case enumeration
            case bool
            /// float and double (`WireValue.double`).
            case floating
            case string
            case bytes
            /// A nested message, with its full proto name.
            case message(String)
        }

        public var number: UInt32
        public var name: String
        public var kind: Kind
        public var repeated: Bool
    }

    /// The fields of the message with full proto name `protoName`, in
    /// declaration order; `.invalidField` when no descriptor has that name.
    public static func fields(of protoName: String) throws(WireError) -> [Field] {
        let d = try ProtobufCCodec.descriptor(named: protoName).pointee
        return (0..<Int(d.n_fields)).map { index in
            let f = d.fields[index]
            return Field(number: f.id, name: String(cString: f.name), kind: kind(f), repeated: f.label == PROTOBUF_C_LABEL_REPEATED)
        }
    }

    private static func kind(_ f: ProtobufCFieldDescriptor) -> Field.Kind {
        switch f.type {
        case PROTOBUF_C_TYPE_UINT32, PROTOBUF_C_TYPE_FIXED32, PROTOBUF_C_TYPE_UINT64, PROTOBUF_C_TYPE_FIXED64: .unsigned
        case PROTOBUF_C_TYPE_ENUM: .enumeration
        case PROTOBUF_C_TYPE_BOOL: .bool
        case PROTOBUF_C_TYPE_FLOAT, PROTOBUF_C_TYPE_DOUBLE: .floating
        case PROTOBUF_C_TYPE_STRING: .string
        case PROTOBUF_C_TYPE_BYTES: .bytes
        case PROTOBUF_C_TYPE_MESSAGE:
            .message(String(cString: f.descriptor!.assumingMemoryBound(to: ProtobufCMessageDescriptor.self).pointee.name))
        default: .signed
        }
    }
}
