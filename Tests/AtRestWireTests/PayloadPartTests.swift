import AtRestWire
import Glibc
import Testing

/// Memory owned by a test "transport": freed when the last part lets go.
private final class OwnedBuffer: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let count: Int
    nonisolated(unsafe) static var freed = 0

    init(_ bytes: [UInt8]) {
        count = bytes.count
        base = malloc(max(1, bytes.count))!
        bytes.withUnsafeBytes { base.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    deinit {
        free(base)
        OwnedBuffer.freed += 1
    }
}

@Suite("Payload parts", .serialized)
struct PayloadPartTests {
    let data: [UInt8] = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }

    @Test func wholeArrayAndSliceReadTheirBytes() {
        let whole = PayloadPart(data)
        #expect(whole.count == data.count)
        #expect(whole.bytes == data)
        let slice = PayloadPart(data, range: 4096..<8193)
        #expect(slice.count == 4097)
        #expect(slice.bytes == Array(data[4096..<8193]))
        slice.withUnsafeBytes { #expect($0.first == data[4096] && $0.last == data[8192]) }
        #expect(PayloadPart(data, range: 5..<5).isEmpty)
    }

    @Test func ownedMemoryLivesAsLongAsAnyPart() {
        let before = OwnedBuffer.freed
        var part: PayloadPart? = {
            let owner = OwnedBuffer(Array(data[0..<300]))
            return PayloadPart(owner: owner, base: UnsafeRawPointer(owner.base), count: owner.count)
        }()
        let copy = part
        part = nil
        // The owner went out of scope and one part is gone: the other still reads.
        #expect(OwnedBuffer.freed == before)
        #expect(copy?.bytes == Array(data[0..<300]))
        let storage = copy!.retainedStorage()
        #expect(storage.base.load(as: UInt8.self) == data[0])
    }

    @Test func partsJoinInOrder() {
        let parts = [PayloadPart(data, range: 0..<10), PayloadPart([]), PayloadPart(data, range: 10..<9000)]
        #expect(parts.joined() == Array(data[0..<9000]))
        let request = RPCRequest(header: RPCHeader(method: "m"), parts: parts)
        #expect(request.payload == [Array(data[0..<10]), [], Array(data[10..<9000])])
    }
}
