/// What a share's record in the account's `shares` map holds, sealed
/// (docs/FORMAT.md "Files").
///
/// ```
/// u8 version (1) ‖ 16 share id ‖ u64 quota bytes ‖ i64 creation ms ‖ name (u8 length ‖ UTF-8)
/// ‖ u16 metadata entries, each key and value (u16 length ‖ UTF-8), sorted by key
/// ```
struct ShareRecord: Equatable {
    var id: [UInt8]
    var quota: UInt64
    var creationTime: Int64
    var name: String
    var metadata: [String: String]

    static let idSize = 16

    var encoded: [UInt8] {
        get throws {
            var w = ByteWriter()
            w.u8(1)
            w.raw(id)
            w.u64(quota)
            w.u64(UInt64(bitPattern: creationTime))
            try w.shortString(name, field: "share name")
            try w.metadata16(metadata)
            return w.bytes
        }
    }

    init(id: [UInt8], quota: UInt64, creationTime: Int64, name: String, metadata: [String: String]) {
        (self.id, self.quota, self.creationTime, self.name, self.metadata) = (id, quota, creationTime, name, metadata)
    }

    init(decoding bytes: [UInt8]) throws {
        var r = ByteReader(bytes)
        guard try r.u8() == 1 else { throw StorageError(.unsupportedFormat, "share record version") }
        id = Array(try r.take(Self.idSize))
        quota = try r.u64()
        creationTime = Int64(bitPattern: try r.u64())
        name = try r.shortString()
        metadata = try r.metadata16()
        guard r.remaining == 0 else { throw StorageError.integrity("trailing bytes in a share record") }
    }
}
