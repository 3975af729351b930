internal import CAtRestProto

extension ProtobufCCodec {
    /// Checks every string field of an encoded message, nested messages and
    /// map entries included: a string must be valid UTF-8 without NUL bytes.
    ///
    /// Why here: protobuf-c 1.4 accepts both (checked: it unpacks
    /// `0a 02 ff fe` and `0a 03 61 00 62`) and hands back a C string without
    /// its length, so a NUL cut the name short (`a.txt\0x` overwrote
    /// `a.txt`). Walking the wire bytes sees each string's real length; the
    /// strings read from the unpacked message afterwards are then whole.
    /// Runs after protobuf-c accepted the bytes, so the structure is known
    /// to be sound; bounds are still checked.
    static func checkStrings(
        _ buffer: UnsafeRawBufferPointer, _ descriptor: UnsafePointer<ProtobufCMessageDescriptor>
    ) throws(WireError) {
        var index = 0
        func varint() throws(WireError) -> UInt64 {
            guard let value = Varint.read(buffer, at: &index) else {
                throw WireError(.malformed, "truncated varint in \(String(cString: descriptor.pointee.name))")
            }
            return value
        }
        func skip(_ count: Int) throws(WireError) {
            guard buffer.count - index >= count else {
                throw WireError(.malformed, "truncated field in \(String(cString: descriptor.pointee.name))")
            }
            index += count
        }
        while index < buffer.count {
            let key = try varint()
            switch key & 7 {
            case 0: _ = try varint()
            case 1: try skip(8)
            case 5: try skip(4)
            case 2:
                let length = try varint()
                guard length <= UInt64(buffer.count - index) else {
                    throw WireError(.malformed, "truncated field in \(String(cString: descriptor.pointee.name))")
                }
                let value = UnsafeRawBufferPointer(rebasing: buffer[index..<(index + Int(length))])
                index += Int(length)
                guard key >> 3 <= UInt64(UInt32.max),
                      let field = protobuf_c_message_descriptor_get_field(descriptor, UInt32(key >> 3)) else { continue }
                switch field.pointee.type {
                case PROTOBUF_C_TYPE_STRING:
                    try checkString(value, field, descriptor)
                case PROTOBUF_C_TYPE_MESSAGE:
                    try checkStrings(value, field.pointee.descriptor!.assumingMemoryBound(to: ProtobufCMessageDescriptor.self))
                default:
                    continue
                }
            default:
                throw WireError(.malformed, "unknown wire type in \(String(cString: descriptor.pointee.name))")
            }
        }
    }

    private static func checkString(
        _ value: UnsafeRawBufferPointer, _ field: UnsafePointer<ProtobufCFieldDescriptor>,
        _ descriptor: UnsafePointer<ProtobufCMessageDescriptor>
    ) throws(WireError) {
        func reject(_ what: String) -> WireError {
            WireError(.invalidField, "string field '\(String(cString: field.pointee.name))' of "
                + "\(String(cString: descriptor.pointee.name)) \(what); strings must be UTF-8 without NUL bytes")
        }
        if isPlainASCII(value) { return }
        if value.contains(0) { throw reject("contains a NUL byte") }
        var iterator = value.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid: continue
            case .emptyInput: return
            case .error: throw reject("is not valid UTF-8")
            }
        }
    }

    /// Whether `value` is ASCII without NUL, eight bytes at a time: most strings are, and need no scalar-by-scalar parse.
    static func isPlainASCII(_ value: UnsafeRawBufferPointer) -> Bool {
        let high: UInt64 = 0x8080_8080_8080_8080, ones: UInt64 = 0x0101_0101_0101_0101
        var index = 0
        while index + 8 <= value.count {
            let word = value.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            // A byte ≥ 0x80; else (no high bits) a zero byte: the only ones that borrow into their own high bit.
            if word & high != 0 || (word &- ones) & ~word & high != 0 { return false }
            index += 8
        }
        while index < value.count {
            if value[index] == 0 || value[index] >= 0x80 { return false }
            index += 1
        }
        return true
    }
}
