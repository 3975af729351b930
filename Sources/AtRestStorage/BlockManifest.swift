import AtRestCrypto

/// The data of a committed block list: which block files make up the object,
/// in order. Each entry pins its block file by the SHA-256 of that file's
/// fixed header, so a block file cannot be swapped for another one.
///
/// Version 2 (written now) names each entry's block file: the staged block
/// itself (`s-<hash>-<stage id>`), committed in place without a copy.
/// Version 1 (earlier releases, still read) names them by commit id and
/// index: `b-<object hash>-<commit id>-<index>`, hard links or copies of the
/// staged files.
struct BlockManifest: Equatable {
    struct Entry: Equatable {
        var blockID: [UInt8]
        var length: UInt64
        var headerHash: [UInt8]
        var contentHash: [UInt8]
        /// The block file (version 2); empty in a version 1 manifest.
        var file: String = ""
    }

    static let version: UInt8 = 2
    var version: UInt8 = Self.version
    /// Version 1 only: random per commit, naming the block files.
    var commitID: String = ""
    var entries: [Entry]

    var length: UInt64 { entries.reduce(0) { $0 + $1.length } }

    /// SHA-256 over the blocks' content hashes in order; no hash (zeros) when
    /// no block was staged with one (a hash of zeros would claim a check
    /// that never happened).
    func compositeHash() throws -> [UInt8] {
        guard entries.contains(where: { $0.contentHash != ObjectMetadata.noContentHash }) else { return ObjectMetadata.noContentHash }
        return try SHA256.hash(entries.flatMap(\.contentHash))
    }

    /// The manifest in its `version` (the store writes 2; 1 only in tests
    /// of what earlier releases wrote).
    func encode() throws -> [UInt8] {
        var w = ByteWriter()
        w.u8(version)
        if version == 1 { try w.bytes16(Array(commitID.utf8), field: "commit id") }
        w.u32(UInt32(entries.count))
        for e in entries {
            try w.bytes16(e.blockID, field: "block id")
            w.u64(e.length)
            w.raw(e.headerHash)
            w.raw(e.contentHash)
            if version == 2 { try w.bytes16(Array(e.file.utf8), field: "block file") }
        }
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) throws -> BlockManifest {
        var r = ByteReader(bytes)
        let version = try r.u8()
        guard version == 1 || version == 2 else { throw StorageError(.unsupportedFormat, "unknown block manifest version") }
        let commitID = version == 1 ? try r.string16() : ""
        let count = Int(try r.u32())
        var entries: [Entry] = []
        for _ in 0..<count {
            var entry = Entry(blockID: try r.bytes16(), length: try r.u64(), headerHash: Array(try r.take(32)), contentHash: Array(try r.take(32)))
            if version == 2 {
                entry.file = try r.string16()
                guard entry.file.hasPrefix("s-") || entry.file.hasPrefix("b-") else { throw StorageError.integrity("block list names a block file '\(entry.file)' that is no block") }
            }
            entries.append(entry)
        }
        guard r.remaining == 0 else { throw StorageError.integrity("trailing bytes in block manifest") }
        // `length` sums the entries: a list whose sum does not fit 64 bits is no object (found by fuzz-object).
        var total: UInt64 = 0
        for entry in entries {
            let (sum, overflow) = total.addingReportingOverflow(entry.length)
            guard !overflow else { throw StorageError.integrity("block manifest lengths add up to more than 2^64 bytes") }
            total = sum
        }
        return BlockManifest(version: version, commitID: commitID, entries: entries)
    }

    /// The backend name (in the object's container) of block `index`.
    func blockFileName(objectHash: String, index: Int) -> String {
        version == 1 ? "b-\(objectHash)-\(commitID)-\(index)" : entries[index].file
    }

    /// Every block file this list references.
    func blockFileNames(objectHash: String) -> Set<String> {
        Set(entries.indices.map { blockFileName(objectHash: objectHash, index: $0) })
    }
}
