/// A Swift value type with a protobuf message in `proto/atrest/v1`.
///
/// Conformers map their properties to field numbers; encoding and decoding
/// go through protobuf-c with the generated descriptor named `protoName`:
///
/// ```swift
/// struct Ping: WireMessage {
///     static let protoName = "atrest.v1.Ping"
///     var text: String
///     init(text: String) { self.text = text }
///     init(wire: WireFields) throws { text = wire.string(1) }
///     var wire: WireFields { [1: .string(text)] }
/// }
/// let bytes = Ping(text: "hi").serialized()
/// let back = try Ping(serialized: bytes)
/// ```
public protocol WireMessage: Sendable {
    /// The full protobuf name, e.g. "atrest.v1.RpcHeader".
    static var protoName: String { get }
    init(wire: WireFields) throws
    var wire: WireFields { get }
}

extension WireMessage {
    /// The protobuf encoding of this value, produced by protobuf-c; throws
    /// `WireError(.invalidField)` when the mapping does not fit the message
    /// (a field number it does not have, a value of the wrong kind).
    public func encoded() throws(WireError) -> [UInt8] {
        try ProtobufCCodec.pack(wire, messageNamed: Self.protoName)
    }

    /// `encoded()` for the mappings in this package, which cannot fail:
    /// WireContractTests encodes every conformer with every field set, and
    /// checks that none is missing from its table. A mapping outside that
    /// table that does not fit its message stops here, naming the field.
    public func serialized() -> [UInt8] {
        do { return try encoded() } catch {
            preconditionFailure("\(Self.self) does not fit \(Self.protoName): \(error) (add it to WireContractTests)")
        }
    }

    /// Decodes protobuf bytes with protobuf-c; throws `WireError` (`.malformed`)
    /// for bytes that are not a valid encoding.
    public init(serialized bytes: some Collection<UInt8>) throws {
        let fields = try ProtobufCCodec.unpack(bytes, messageNamed: Self.protoName)
        try self.init(wire: fields)
    }

    /// Decodes protobuf bytes from raw memory (for example a ZeroMQ frame).
    public init(serialized buffer: UnsafeRawBufferPointer) throws {
        let fields = try ProtobufCCodec.unpack(buffer, messageNamed: Self.protoName)
        try self.init(wire: fields)
    }
}
