import AtRestStorage
import AtRestWire

extension AlignedBuffer {
    /// The buffer as a reply's payload frames, not copied (the part keeps
    /// the buffer alive until the transport has sent it); none when empty.
    var payload: [PayloadPart] {
        guard count > 0 else { return [] }
        return [withUnsafeBytes { PayloadPart(owner: self, base: $0.baseAddress!, count: count) }]
    }
}
