import AtRestCrypto

/// The data of a committed block list: which block files make up the object,
/// in order. Each entry pins its block file by the SHA-256 of that file's
/// fixed header, so a block file cannot be swapped for another one.
struct BlockManifest: Equatable {
    struct Entry: Equatable {
        var blockID: [UInt8]
        var length: UInt64
        var headerHash: [UInt8]
        var contentHash: [UInt8]
    }

    static let version: UInt8 = 1
    /// Random per commit; block files are `b-<object hash>-<commit id>-<index>`.
    var commitID: String
    var entries: [Entry]

    var length: UInt64 { entries.reduce(0) { $0 + $1.length } }

    /// SHA-256 over the blocks' content hashes, in order (see ObjectMetadata.contentHash).
    /// SHA-256 over the blocks' content hashes in order; no hash (zeros) when
    /// no block was staged with one (a hash of zeros would claim a check
    /// that never happened).
    func compositeHash() throws -> [UInt8] {
        guard entries.contains(where: { $0.contentHash != ObjectMetadata.noContentHash }) else { return ObjectMetadata.noContentHash }
        return try SHA256.hash(entries.flatMap(\.contentHash))
    }

    func encode() throws -> [UInt8] {
        var w = ByteWriter()
        w.u8(Self.version)
        try w.bytes16(Array(commitID.utf8), field: "commit id")
        w.u32(UInt32(entries.count))
        for e in entries {
            try w.bytes16(e.blockID, field: "block id")
            w.u64(e.length)
            w.raw(e.headerHash)
            w.raw(e.contentHash)
        }
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) throws -> BlockManifest {
        var r = ByteReader(bytes)
        guard try r.u8() == version else { throw StorageError(.unsupportedFormat, "unknown block manifest version") }
        let commitID = try r.string16()
        let count = Int(try r.u32())
        var entries: [Entry] = []
        for _ in 0..<count {
            entries.append(Entry(blockID: try r.bytes16(), length: try r.u64(), headerHash: Array(try r.take(32)), contentHash: Array(try r.take(32))))
        }
        guard r.remaining == 0 else { throw StorageError.integrity("trailing bytes in block manifest") }
        return BlockManifest(commitID: commitID, entries: entries)
    }

    func blockFileName(objectHash: String, index: Int) -> String { "b-\(objectHash)-\(commitID)-\(index)" }
}
