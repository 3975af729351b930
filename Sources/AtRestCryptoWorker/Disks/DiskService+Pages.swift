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
        router.register(DiskMethod.clearPages) { (request: DiskRangeRequest, rpc) async throws -> EmptyMessage in
            try await withDisks(rpc, disk: request.disk) { disks, account, key in
                try await disks.clearPages(account: account, name: request.disk, offset: request.offset, length: request.length, accountKey: key)
            }
            return EmptyMessage()
        }
        router.register(DiskMethod.getPages) { (request: DiskRangeRequest, rpc) async throws -> (GetPagesResponse, [[UInt8]]) in
            let length = try Self.ioLength(request.length, "a page read")
            return try await withDisks(rpc, disk: request.disk) { disks, account, key in
                let data = try await disks.readPages(account: account, name: request.disk, offset: request.offset, length: length, accountKey: key)
                return (GetPagesResponse(length: UInt64(data.count)), [data])
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
                let ranges = try await disks.pageRanges(account: account, name: request.disk, offset: request.offset, length: length, accountKey: key)
                return PageRangesResponse(ranges: ranges.map { DiskPageRange(offset: $0.offset, length: $0.length) })
            }
        }
    }
}
