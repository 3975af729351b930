/// Lower-case hex, for ids, keyed-hash names on disk and key files.
public enum Hex {
    /// Inlinable, so callers get it specialised for their sequence type
    /// (unspecialised, each byte went through the generic witnesses; a
    /// queue worker spent 3% of its CPU here).
    @inlinable
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes { out.append(digit(byte >> 4)); out.append(digit(byte & 15)) }
        return String(decoding: out, as: UTF8.self)
    }

    /// The lower-case hex digit of a nibble (0-15).
    @inlinable
    public static func digit(_ nibble: UInt8) -> UInt8 { nibble < 10 ? 0x30 + nibble : 0x57 + nibble }

    /// `digits` lower-case hex digits of `value`, most significant first,
    /// zero-padded (the high digits dropped when it needs more): record
    /// keys whose byte order is their numeric order.
    @inlinable
    public static func fixedWidth(_ value: UInt64, digits: Int) -> String {
        String(unsafeUninitializedCapacity: digits) { buffer in
            for index in 0..<digits {
                let shift = 4 * UInt64(digits - 1 - index)
                buffer[index] = digit(shift < 64 ? UInt8(truncatingIfNeeded: value >> shift) & 15 : 0)
            }
            return digits
        }
    }

    /// The bytes of an even-length hex string (either case), or nil.
    public static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 2)
        var index = 0
        while index < chars.count {
            guard let high = nibble(chars[index]), let low = nibble(chars[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x61...0x66: c - 0x61 + 10
        case 0x41...0x46: c - 0x41 + 10
        default: nil
        }
    }
}
