import AtRestCrypto

/// What a message record holds, sealed (docs/FORMAT.md "Queues").
///
/// ```
/// u8 version (1) ‖ 16 message id ‖ u64 insertion ms ‖ u64 expiry ms (all ones: never)
/// ‖ u64 next-visible ms ‖ u32 dequeue count ‖ 16 pop receipt secret ‖ body (the rest)
/// ```
struct MessageRecord: Equatable, Sendable {
    var id: [UInt8]
    var insertionTime: Int64
    var expirationTime: Int64?
    var nextVisibleTime: Int64
    var dequeueCount: UInt32
    var receiptSecret: [UInt8]
    var body: [UInt8]

    static let idSize = 16
    static let secretSize = 16

    /// Its key in the queue's map: ordered by next-visible time, then
    /// insertion time (both in clear, 16 hex digits each), then the id.
    var key: String { Self.key(visible: nextVisibleTime, inserted: insertionTime, id: id) }

    static func key(visible: Int64, inserted: Int64, id: [UInt8]) -> String {
        "m-\(hex16(visible))-\(hex16(inserted))-\(Hex.encode(id))"
    }

    static let keyPrefix = "m-"

    /// The next-visible time a key starts with.
    static func visibleTime(ofKey key: String) -> Int64? {
        let utf8 = Array(key.utf8)
        guard utf8.count > 18, key.hasPrefix(keyPrefix) else { return nil }
        return Int64(String(decoding: utf8[2..<18], as: UTF8.self), radix: 16)
    }

    /// 16 lower-case hex digits of `value` (negative as 0).
    static func hex16(_ value: Int64) -> String { Hex.fixedWidth(UInt64(bitPattern: max(0, value)), digits: 16) }

    var encoded: [UInt8] {
        var w = ByteWriter(capacity: 64 + body.count)
        w.u8(1)
        w.raw(id)
        w.u64(UInt64(bitPattern: insertionTime))
        w.u64(expirationTime.map { UInt64(bitPattern: $0) } ?? .max)
        w.u64(UInt64(bitPattern: nextVisibleTime))
        w.u32(dequeueCount)
        w.raw(receiptSecret)
        w.raw(body)
        return w.bytes
    }

    init(id: [UInt8], insertionTime: Int64, expirationTime: Int64?, nextVisibleTime: Int64, dequeueCount: UInt32, receiptSecret: [UInt8], body: [UInt8]) {
        (self.id, self.insertionTime, self.expirationTime, self.nextVisibleTime) = (id, insertionTime, expirationTime, nextVisibleTime)
        (self.dequeueCount, self.receiptSecret, self.body) = (dequeueCount, receiptSecret, body)
    }

    init(decoding bytes: [UInt8]) throws {
        var r = ByteReader(bytes)
        guard try r.u8() == 1 else { throw StorageError(.unsupportedFormat, "message record version") }
        id = Array(try r.take(Self.idSize))
        insertionTime = Int64(bitPattern: try r.u64())
        let expiry = try r.u64()
        expirationTime = expiry == .max ? nil : Int64(bitPattern: expiry)
        nextVisibleTime = Int64(bitPattern: try r.u64())
        dequeueCount = try r.u32()
        receiptSecret = Array(try r.take(Self.secretSize))
        body = Array(try r.take(r.remaining))
    }

    func expired(at now: Int64) -> Bool { expirationTime.map { $0 <= now } ?? false }

    /// The pop receipt a caller holds: hex of next-visible ms ‖ insertion ms
    /// ‖ secret, so the record's key can be found again from it.
    var popReceipt: String { Self.hex16(nextVisibleTime) + Self.hex16(insertionTime) + Hex.encode(receiptSecret) }

    /// The key and secret a pop receipt names, with the message id; nil when it is not one.
    static func parse(popReceipt: String, id: [UInt8]) -> (key: String, secret: [UInt8])? {
        let utf8 = Array(popReceipt.utf8)
        guard utf8.count == 64, let visible = Int64(String(decoding: utf8[0..<16], as: UTF8.self), radix: 16),
              let inserted = Int64(String(decoding: utf8[16..<32], as: UTF8.self), radix: 16),
              let secret = Hex.decode(String(decoding: utf8[32...], as: UTF8.self)) else { return nil }
        return (key(visible: visible, inserted: inserted, id: id), secret)
    }

    func message(withReceipt: Bool) -> QueuedMessage {
        QueuedMessage(id: Hex.encode(id), body: body, insertionTime: insertionTime, expirationTime: expirationTime,
                     nextVisibleTime: nextVisibleTime, dequeueCount: dequeueCount, popReceipt: withReceipt ? popReceipt : nil)
    }
}

/// What a queue's record in the account's queue directory holds, sealed.
///
/// ```
/// u8 version (1) ‖ 16 queue id ‖ u64 creation ms ‖ name (u8 length ‖ UTF-8)
/// ‖ u16 metadata entries, each key and value (u16 length ‖ UTF-8), sorted by key
/// ```
struct QueueRecord: Equatable {
    var id: [UInt8]
    var creationTime: Int64
    var name: String
    var metadata: [String: String]

    var encoded: [UInt8] {
        get throws {
            var w = ByteWriter()
            w.u8(1)
            w.raw(id)
            w.u64(UInt64(bitPattern: creationTime))
            try w.shortString(name, field: "queue name")
            try w.metadata16(metadata)
            return w.bytes
        }
    }

    init(id: [UInt8], creationTime: Int64, name: String, metadata: [String: String]) {
        (self.id, self.creationTime, self.name, self.metadata) = (id, creationTime, name, metadata)
    }

    init(decoding bytes: [UInt8]) throws {
        var r = ByteReader(bytes)
        guard try r.u8() == 1 else { throw StorageError(.unsupportedFormat, "queue record version") }
        id = Array(try r.take(MessageRecord.idSize))
        creationTime = Int64(bitPattern: try r.u64())
        name = try r.shortString()
        metadata = try r.metadata16()
    }
}
