/// Big-endian writer for the on-disk format (see docs/FORMAT.md).
struct ByteWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { bytes.append(UInt8(v >> 8)); bytes.append(UInt8(v & 0xff)) }
    mutating func u32(_ v: UInt32) { for s in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8((v >> UInt32(s)) & 0xff)) } }
    mutating func u64(_ v: UInt64) { for s in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8((v >> UInt64(s)) & 0xff)) } }
    mutating func raw(_ v: some Sequence<UInt8>) { bytes.append(contentsOf: v) }

    /// A string with a u8 length prefix; throws when longer than 255 bytes.
    mutating func shortString(_ s: String, field: String) throws {
        let utf8 = Array(s.utf8)
        guard utf8.count <= 255 else { throw StorageError(.invalidArgument, "\(field) is longer than 255 bytes") }
        u8(UInt8(utf8.count)); raw(utf8)
    }

    /// Bytes with a u16 length prefix; throws when longer than 65535 bytes.
    mutating func bytes16(_ v: [UInt8], field: String) throws {
        guard v.count <= 0xffff else { throw StorageError(.invalidArgument, "\(field) is longer than 65535 bytes") }
        u16(UInt16(v.count)); raw(v)
    }

    /// User metadata: u16 entry count ‖ entries sorted by key, key and
    /// value each u16 length ‖ UTF-8 (queue and disk records).
    mutating func metadata16(_ metadata: [String: String]) throws {
        guard metadata.count <= 0xffff else { throw StorageError(.invalidArgument, "too many metadata entries") }
        u16(UInt16(metadata.count))
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            try bytes16(Array(key.utf8), field: "metadata key")
            try bytes16(Array(value.utf8), field: "metadata value")
        }
    }
}

/// Bounds-checked big-endian reader: every short read is an integrity failure.
struct ByteReader {
    let bytes: [UInt8]
    private(set) var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }

    mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, remaining >= n else { throw StorageError.integrity("structure ends early") }
        defer { offset += n }
        return bytes[offset..<(offset + n)]
    }

    mutating func u8() throws -> UInt8 { try take(1).first! }
    mutating func u16() throws -> UInt16 { try take(2).reduce(0) { $0 << 8 | UInt16($1) } }
    mutating func u32() throws -> UInt32 { try take(4).reduce(0) { $0 << 8 | UInt32($1) } }
    mutating func u64() throws -> UInt64 { try take(8).reduce(0) { $0 << 8 | UInt64($1) } }
    mutating func shortString() throws -> String { try utf8(take(Int(u8()))) }
    mutating func bytes16() throws -> [UInt8] { Array(try take(Int(u16()))) }
    mutating func string16() throws -> String { try utf8(take(Int(u16()))) }

    /// What `ByteWriter.metadata16` wrote.
    mutating func metadata16() throws -> [String: String] {
        var metadata: [String: String] = [:]
        for _ in 0..<(try u16()) { metadata[try string16()] = try string16() }
        return metadata
    }

    private func utf8(_ slice: ArraySlice<UInt8>) throws -> String {
        guard let s = String(validating: slice, as: UTF8.self) else { throw StorageError.integrity("invalid UTF-8") }
        return s
    }
}
