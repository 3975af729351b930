/// Protobuf base-128 varints, for the places that walk wire bytes without
/// protobuf-c (the broker's header scan, the codec's string check).
public enum Varint {
    /// The varint at `index` (advanced past it); nil when the bytes end
    /// before it does or it runs past 64 bits.
    @inlinable
    public static func read(_ buffer: UnsafeRawBufferPointer, at index: inout Int) -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while index < buffer.count, shift < 64 {
            let byte = buffer[index]
            index += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        return nil
    }
}
