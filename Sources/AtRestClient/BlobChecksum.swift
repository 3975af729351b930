/// What a `BlobClient` hashes (SHA-256) so that the bytes can be checked end
/// to end, beyond what every transfer already has: AES-256-GCM tags on every
/// 64 KiB segment at rest (a changed byte on disk reads as DATA_LOSS) and the
/// transport in transit (TCP, plus CURVE's per-message MAC when configured).
///
/// The hash guards against what neither covers: a bug or a memory fault
/// between the caller's buffer and the worker's cipher. It costs one SHA-256
/// pass over the data on each side (SHA-256 is ~2× the cost of AES-GCM here),
/// so the library leaves it to the caller; the `atrest` CLI uses
/// `.wholeContent`. See docs/DATA-PATH.md, "Content hashes".
public enum BlobChecksum: Sendable, Equatable {
    /// Nothing hashed by the client; the worker hashes nothing either.
    case none
    /// Every `Put` and `StageBlock` carries the SHA-256 of its payload; the
    /// worker verifies it while sealing (in the same pass) before anything is
    /// published and echoes it; a block list's commit is checked against the
    /// SHA-256 of the block hashes in order (what the service records for
    /// it). One hash pass per byte on each side.
    case perMessage
    /// `perMessage`, plus the SHA-256 of the whole content stored as user
    /// metadata `content-sha256` and checked by every download. For a
    /// single `Put` this is the same hash (no extra pass); a staged upload
    /// hashes each byte twice on the client (block hash and whole hash).
    case wholeContent
}
