import AtRestStorage
import AtRestWire

extension DiskService {
    func registerPageMethods(_ router: inout RPCRouter) {
        router.register(DiskMethod.putPages) { (request: PutPagesRequest, rpc) async throws -> EmptyMessage in
            let parts = rpc.parts
            _ = try Self.ioLength(UInt64(parts.reduce(0) { $0 + $1.count }), "a page write")
            try await withDisks(rpc, disk: request.disk) { disks, account, key in
                // One copy out of the frames: the store seals 4 KiB chunks of it.
                let data = parts.count == 1 ? parts[0].bytes : parts.joined()
                try await disks.writePages(account: account, name: request.disk, offset: request.offset, data: data, accountKey: key)
            }
            return EmptyMessage()
        }
        router.register(DiskMethod.putPageRanges) { (request: PutPageRangesRequest, rpc) async throws -> EmptyMessage in
            let total = try Self.ioLength(UInt64(rpc.parts.reduce(0) { $0 + $1.count }), "a page write")
            // The ranges' lengths must add up to the payload's (each within 4 MiB, so the sum cannot overflow);
            // their number and layout are the store's to check.
            guard request.ranges.allSatisfy({ $0.length <= UInt64(DiskMethod.maxIO) }),
                  request.ranges.reduce(UInt64(0), { $0 + $1.length }) == UInt64(total) else {
                throw RPCStatus(.invalidArgument, "PutPageRanges: the ranges' lengths must add up to the payload's \(total) bytes")
            }
            try await withDisks(rpc, disk: request.disk) { disks, account, key in
                let data = Self.split(rpc.parts, lengths: request.ranges.map { Int($0.length) })
                let ranges = zip(request.ranges, data).map { (offset: $0.offset, data: $1) }
                try await disks.writePages(account: account, name: request.disk, ranges: ranges, accountKey: key)
            }
            return EmptyMessage()
        }
        router.register(DiskMethod.clearPages) { (request: DiskRangeRequest, rpc) async throws -> EmptyMessage in
            try await withDisks(rpc, disk: request.disk) { disks, account, key in
                try await disks.clearPages(account: account, name: request.disk, offset: request.offset, length: request.length, accountKey: key)
            }
            return EmptyMessage()
        }
        router.register(DiskMethod.getPages) { (request: DiskRangeRequest, rpc) async throws -> (GetPagesResponse, [PayloadPart]) in
            let length = try Self.ioLength(request.length, "a page read")
            return try await withDisks(rpc, disk: request.disk) { disks, account, key in
                let data = try await disks.readPagesBuffer(account: account, name: request.disk, offset: request.offset, length: length, accountKey: key)
                return (GetPagesResponse(length: UInt64(data.count)), data.payload)
            }
        }
        router.register(DiskMethod.listPageRanges) { (request: DiskRangeRequest, rpc) async throws -> PageRangesResponse in
            try await withDisks(rpc, disk: request.disk) { disks, account, key in
                var length = request.length
                if length == 0 {
                    // To the end of the disk as it is now (an offset beyond it is refused by pageRanges).
                    let size = try await disks.properties(account: account, name: request.disk, accountKey: key).size
                    length = size > request.offset ? size - request.offset : 0
                }
                return try await Self.pageRanges(disks, account, request.disk, from: request.offset, length: length, key)
            }
        }
    }

    /// The payload's bytes cut into arrays of `lengths` (which add up to
    /// them), each copied once out of the frames: a part that is exactly
    /// one range (as `DiskClient.putPageRanges` sends them) is taken as it
    /// is, others are gathered across part boundaries.
    static func split(_ parts: [PayloadPart], lengths: [Int]) -> [[UInt8]] {
        var part = 0, within = 0
        return lengths.map { length in
            if within == 0, part < parts.count, parts[part].count == length {
                defer { part += 1 }
                return parts[part].bytes
            }
            var out: [UInt8] = []
            out.reserveCapacity(length)
            while out.count < length {
                parts[part].withUnsafeBytes { bytes in
                    let take = min(length - out.count, bytes.count - within)
                    out.append(contentsOf: bytes[within ..< within + take])
                    within += take
                }
                if within == parts[part].count { part += 1; within = 0 }
            }
            return out
        }
    }

    /// Ranges listed in one reply before it stops (`next_offset`): with
    /// windows of one region (1 GiB: 262,144 chunks, so at most 131,072
    /// ranges each), a reply stays under about 147,456 ranges (~1.8 MB, well
    /// within the 8 MiB message limit).
    static let rangesPerReply = 16_384
    static let rangeWindow: UInt64 = 1 << 30

    /// The written ranges of [offset, offset + length), window by window
    /// (aligned to `rangeWindow`), merged across windows, stopping after
    /// the window that reaches `rangesPerReply`.
    static func pageRanges(_ disks: DiskStore, _ account: String, _ disk: String, from offset: UInt64, length: UInt64,
                           _ key: AccountKey) async throws -> PageRangesResponse {
        let end = offset + length
        var ranges: [DiskPageRange] = [], at = offset
        // An empty range still asks the store once (it checks the range against the disk).
        repeat {
            let stop = min(end, (at / rangeWindow + 1) * rangeWindow)
            for range in try await disks.pageRanges(account: account, name: disk, offset: at, length: stop - at, accountKey: key) {
                DiskPageRange.append(DiskPageRange(offset: range.offset, length: range.length), to: &ranges)
            }
            at = stop
        } while at < end && ranges.count < rangesPerReply
        return PageRangesResponse(ranges: ranges, nextOffset: at < end ? at : 0)
    }
}
