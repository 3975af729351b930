import AtRestCrypto

/// How an entity is stored (docs/FORMAT.md "Tables"): its encoding, sealed
/// as one `SealedRecord` and cut into pieces of at most a record value's
/// size, the main record first (with the piece count).
///
/// ```
/// u8 version (1) ‖ PartitionKey, RowKey (u16 length ‖ UTF-8 each) ‖ 16 ETag ‖ u64 Timestamp µs
/// ‖ u16 count ‖ properties sorted by name: name (u8 length ‖ UTF-8) ‖ u8 type ‖ value
/// ```
enum EntityRecord {
    static let etagSize = 16
    /// Bytes of a piece: a record value's limit, less the main record's count byte.
    static let pieceSize = RecordBatch.maxValueLength - 1
    static let maxPieces = (TableLimits.maxEntityBytes + SealedRecord.maxOverhead + pieceSize - 1) / pieceSize

    static func encodedSize(_ entity: TableEntity) -> Int {
        1 + 2 + entity.partitionKey.utf8.count + 2 + entity.rowKey.utf8.count + etagSize + 8 + 2
            + entity.properties.reduce(0) { $0 + 1 + $1.key.utf8.count + $1.value.encodedSize }
    }

    /// The entity's encoding; its ETag is 32 hex digits (16 bytes).
    static func encode(_ entity: TableEntity) throws -> [UInt8] {
        guard let etag = Hex.decode(entity.etag), etag.count == etagSize else { throw StorageError(.invalidArgument, "an ETag is 32 hex digits") }
        var w = ByteWriter(capacity: encodedSize(entity))
        w.u8(1)
        try w.bytes16(Array(entity.partitionKey.utf8), field: "PartitionKey")
        try w.bytes16(Array(entity.rowKey.utf8), field: "RowKey")
        w.raw(etag)
        w.u64(UInt64(bitPattern: entity.timestamp))
        w.u16(UInt16(entity.properties.count))
        for (name, value) in entity.properties.sorted(by: { $0.key < $1.key }) {
            try w.shortString(name, field: "property name")
            value.encode(into: &w)
        }
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) throws -> TableEntity {
        var r = ByteReader(bytes)
        guard try r.u8() == 1 else { throw StorageError(.unsupportedFormat, "entity record version") }
        let partitionKey = try r.string16(), rowKey = try r.string16()
        let etag = Hex.encode(try r.take(etagSize))
        let timestamp = Int64(bitPattern: try r.u64())
        var properties: [String: TableValue] = [:]
        for _ in 0..<(try r.u16()) {
            let name = try r.shortString()
            properties[name] = try TableValue.decode(from: &r)
        }
        guard r.remaining == 0 else { throw StorageError.integrity("entity record has trailing bytes") }
        return TableEntity(partitionKey: partitionKey, rowKey: rowKey, properties: properties, etag: etag, timestamp: timestamp)
    }

    // MARK: Pieces

    /// The keys an entity's records may have: the main key, then its pieces' keys.
    static func keys(main: String) -> [String] {
        [main] + (1..<maxPieces).map { main + "-" + MessageRecord.hex16(Int64($0)).suffix(2) }
    }

    /// The records of a sealed entity: the main record (piece count ‖ piece 0), then the other pieces.
    static func records(main: String, sealed: [UInt8]) -> [String: [UInt8]] {
        let count = (sealed.count + pieceSize - 1) / pieceSize
        let keys = keys(main: main)
        var out: [String: [UInt8]] = [:]
        for i in 0..<count {
            let piece = sealed[(i * pieceSize)..<min(sealed.count, (i + 1) * pieceSize)]
            out[keys[i]] = i == 0 ? [UInt8(count)] + piece : Array(piece)
        }
        return out
    }

    /// The sealed entity from its main record and the records found (its pieces).
    static func join(main: String, value: [UInt8], pieces found: (String) -> [UInt8]?) throws -> [UInt8] {
        guard let count = value.first, (1...maxPieces).contains(Int(count)) else { throw StorageError.integrity("entity record \(main) piece count") }
        var sealed = Array(value.dropFirst())
        guard count > 1 else { return sealed }  // one piece: no piece keys to make
        for key in keys(main: main)[1..<Int(count)] {
            guard let piece = found(key) else { throw StorageError.integrity("entity record \(main) lacks its piece \(key)") }
            sealed += piece
        }
        return sealed
    }

    /// Piece keys of an entity stored in `count` pieces, besides the main key.
    static func pieceKeys(main: String, count: Int) -> [String] { Array(keys(main: main)[1..<max(1, count)]) }
}

/// What a table's record in the account's table directory holds, sealed.
///
/// ```
/// u8 version (1) ‖ 16 table id ‖ u64 creation ms ‖ name (u8 length ‖ UTF-8, as created)
/// ```
struct TableRecord: Equatable {
    var id: [UInt8]
    var creationTime: Int64
    var name: String

    static let idSize = 16

    var encoded: [UInt8] {
        get throws {
            var w = ByteWriter()
            w.u8(1)
            w.raw(id)
            w.u64(UInt64(bitPattern: creationTime))
            try w.shortString(name, field: "table name")
            return w.bytes
        }
    }

    init(id: [UInt8], creationTime: Int64, name: String) {
        (self.id, self.creationTime, self.name) = (id, creationTime, name)
    }

    init(decoding bytes: [UInt8]) throws {
        var r = ByteReader(bytes)
        guard try r.u8() == 1 else { throw StorageError(.unsupportedFormat, "table record version") }
        id = Array(try r.take(Self.idSize))
        creationTime = Int64(bitPattern: try r.u64())
        name = try r.shortString()
    }
}

extension EntityRecord {
    /// A piece's key `e-<P>-<R>-<i>` ends in a dash and two hex digits; a main key `e-<P>-<R>` ends in its
    /// row hash (hex, no dash). Looks at three bytes, not the whole key: a scan asks this of every key it lists.
    static func isPieceKey(_ key: String) -> Bool {
        let utf8 = key.utf8
        return utf8.count > 3 && utf8[utf8.index(utf8.endIndex, offsetBy: -3)] == 0x2D
    }
}
