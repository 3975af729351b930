/// Everything about an object that is not its data, all of it encrypted in
/// the header: name, user metadata, content type, length, creation time and
/// content hash.
public struct ObjectMetadata: Sendable, Equatable {
    public var name: String
    public var userMetadata: [String: String]
    public var contentType: String
    /// Plaintext length in bytes (for a committed block list: the sum of its blocks).
    public var length: UInt64
    /// Milliseconds since the Unix epoch.
    public var creationTime: Int64
    /// SHA-256 of the plaintext when the client supplied one (verified at
    /// write), or 32 zero bytes; for a committed block list, SHA-256 over the
    /// blocks' content hashes in order. The format itself does not hash data:
    /// the GCM tags already authenticate every segment.
    public var contentHash: [UInt8]

    public static let noContentHash = [UInt8](repeating: 0, count: 32)

    public init(name: String, userMetadata: [String: String] = [:], contentType: String = "application/octet-stream",
                length: UInt64 = 0, creationTime: Int64 = 0, contentHash: [UInt8] = ObjectMetadata.noContentHash) {
        self.name = name
        self.userMetadata = userMetadata
        self.contentType = contentType
        self.length = length
        self.creationTime = creationTime
        self.contentHash = contentHash
    }

    static let encodingVersion: UInt8 = 1

    /// Encoding whose size does not depend on `length` or `contentHash`, so a
    /// streaming writer can reserve the header before it knows them.
    func encode() throws -> [UInt8] {
        guard contentHash.count == 32 else { throw StorageError(.invalidArgument, "content hash must be 32 bytes (SHA-256)") }
        var w = ByteWriter()
        w.u8(Self.encodingVersion)
        try w.bytes16(Array(name.utf8), field: "object name")
        try w.bytes16(Array(contentType.utf8), field: "content type")
        w.u64(length)
        w.u64(UInt64(bitPattern: creationTime))
        w.raw(contentHash)
        guard userMetadata.count <= 0xffff else { throw StorageError(.invalidArgument, "too many metadata entries") }
        w.u16(UInt16(userMetadata.count))
        for (key, value) in userMetadata.sorted(by: { $0.key < $1.key }) {
            try w.bytes16(Array(key.utf8), field: "metadata key")
            try w.bytes16(Array(value.utf8), field: "metadata value '\(key)'")
        }
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) throws -> ObjectMetadata {
        var r = ByteReader(bytes)
        guard try r.u8() == encodingVersion else { throw StorageError(.unsupportedFormat, "unknown metadata encoding") }
        var m = ObjectMetadata(name: try r.string16())
        m.contentType = try r.string16()
        m.length = try r.u64()
        m.creationTime = Int64(bitPattern: try r.u64())
        m.contentHash = Array(try r.take(32))
        let count = Int(try r.u16())
        for _ in 0..<count { m.userMetadata[try r.string16()] = try r.string16() }
        guard r.remaining == 0 else { throw StorageError.integrity("trailing bytes in metadata") }
        return m
    }
}
