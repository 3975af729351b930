/// base64url without padding (RFC 4648 §5, as JWS uses it, RFC 7515 §2).
///
/// Decoding is strict: padding, whitespace, characters outside the alphabet,
/// an impossible length, or non-zero unused trailing bits are all rejected.
/// The last rule matters for tokens: otherwise two different strings would
/// decode to the same signature, and a "tampered" signature could verify.
public enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, char) in alphabet.enumerated() { table[Int(char)] = UInt8(index) }
        return table
    }()

    public static func encode(_ data: some ContiguousBytes) -> String {
        data.withUnsafeBytes { bytes in
            var out = [UInt8]()
            out.reserveCapacity((bytes.count * 4 + 2) / 3)
            var index = 0
            while index + 3 <= bytes.count {
                let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
                out.append(alphabet[Int(value >> 18 & 63)])
                out.append(alphabet[Int(value >> 12 & 63)])
                out.append(alphabet[Int(value >> 6 & 63)])
                out.append(alphabet[Int(value & 63)])
                index += 3
            }
            let rest = bytes.count - index
            if rest == 1 {
                let value = UInt32(bytes[index]) << 16
                out.append(alphabet[Int(value >> 18 & 63)])
                out.append(alphabet[Int(value >> 12 & 63)])
            } else if rest == 2 {
                let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8
                out.append(alphabet[Int(value >> 18 & 63)])
                out.append(alphabet[Int(value >> 12 & 63)])
                out.append(alphabet[Int(value >> 6 & 63)])
            }
            return String(decoding: out, as: UTF8.self)
        }
    }

    /// The decoded bytes, or nil when `text` is not canonical unpadded base64url.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        decode(utf8: Array(text.utf8))
    }

    public static func decode(utf8 input: some Collection<UInt8>) -> [UInt8]? {
        let count = input.count
        if count % 4 == 1 { return nil }
        var out = [UInt8]()
        out.reserveCapacity(count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for char in input {
            let value = decodeTable[Int(char)]
            if value == 0xFF { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
                accumulator &= (1 << UInt32(bits)) - 1
            }
        }
        // Leftover bits (2 or 4) must be zero for a canonical encoding.
        if accumulator != 0 { return nil }
        return out
    }
}
