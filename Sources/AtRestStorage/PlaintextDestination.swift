/// Where a read's plaintext goes: a closure that takes it piece by piece
/// (decrypted through one scratch segment and copied out by the closure),
/// or a buffer of exactly the range's size that segments are decrypted
/// straight into (a Get's reply frame: no copy after the cipher).
enum PlaintextDestination {
    case sink((UnsafeRawBufferPointer) throws -> Void)
    case buffer(UnsafeMutableRawBufferPointer)

    /// The part of this destination for `part` of `whole` (a window, a block).
    func slice(_ part: Range<UInt64>, of whole: Range<UInt64>) -> PlaintextDestination {
        switch self {
        case .sink: return self
        case .buffer(let output):
            let lo = Int(part.lowerBound - whole.lowerBound)
            return .buffer(UnsafeMutableRawBufferPointer(rebasing: output[lo..<(lo + part.count)]))
        }
    }
}
