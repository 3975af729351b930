/// How `BlobClient` moves large data: one `Put` up to `singlePutThreshold`,
/// above it staged blocks of `blockSize` (at most `parallelism` in flight,
/// so memory stays near `parallelism × blockSize`); downloads read ranges of
/// `rangeSize` the same way. Both sizes must stay under the messaging
/// payload limit (8 MiB − 64 KiB by default). `checksum` says what the
/// client hashes (default: nothing; see `BlobChecksum`).
public struct BlobTransferOptions: Sendable {
    public var singlePutThreshold: Int
    public var blockSize: Int
    public var rangeSize: Int
    public var parallelism: Int
    public var checksum: BlobChecksum
    /// The encryption scope puts and staged blocks ask for ("": the
    /// container's default scope, else the account's current key).
    public var scope = ""

    public init(singlePutThreshold: Int = 4 << 20, blockSize: Int = 4 << 20, rangeSize: Int = 4 << 20, parallelism: Int = 8,
                checksum: BlobChecksum = .none) {
        self.singlePutThreshold = singlePutThreshold
        self.blockSize = max(1, blockSize)
        self.rangeSize = max(1, rangeSize)
        self.parallelism = max(1, parallelism)
        self.checksum = checksum
    }

    /// User metadata key holding the SHA-256 (hex) of the whole content, set
    /// by uploads with `BlobChecksum.wholeContent` and checked by downloads
    /// (unless `checksum` is `.none`) when present. (The service's own
    /// `content_hash` of a block list is a hash of block hashes, which a
    /// ranged download cannot recompute.)
    public static let contentHashKey = "content-sha256"
}

/// Progress of a transfer: bytes done so far and the total.
public typealias BlobProgress = @Sendable (_ done: UInt64, _ total: UInt64) -> Void
