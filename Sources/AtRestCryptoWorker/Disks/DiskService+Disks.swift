import AtRestStorage
import AtRestWire

extension DiskService {
    func registerDiskMethods(_ router: inout RPCRouter) {
        router.register(DiskMethod.createDisk) { (request: CreateDiskRequest, rpc) async throws -> DiskProperties in
            try await withDisks(rpc, disk: request.disk) { disks, account, key in
                Self.wire(try await disks.createDisk(account: account, name: request.disk, size: request.size, metadata: request.metadata,
                                                     accountKey: key))
            }
        }
        router.register(DiskMethod.deleteDisk) { (request: DiskRequest, rpc) async throws -> EmptyMessage in
            try await withDisks(rpc, disk: request.disk) { disks, account, key in
                try await disks.deleteDisk(account: account, name: request.disk, accountKey: key)
            }
            return EmptyMessage()
        }
        router.register(DiskMethod.listDisks) { (request: DiskListRequest, rpc) async throws -> DiskListResponse in
            try await withDisks(rpc, disk: nil) { disks, account, key in
                let page = try await disks.listDisks(account: account, prefix: request.prefix,
                                                     continuation: request.continuation.isEmpty ? nil : request.continuation,
                                                     limit: request.pageSize == 0 ? 1000 : Int(request.pageSize), accountKey: key)
                return DiskListResponse(disks: page.disks.map(Self.wire), continuation: page.continuation ?? "")
            }
        }
        router.register(DiskMethod.getDiskProperties) { (request: DiskRequest, rpc) async throws -> DiskProperties in
            try await withDisks(rpc, disk: request.disk) { disks, account, key in
                Self.wire(try await disks.properties(account: account, name: request.disk, accountKey: key))
            }
        }
        router.register(DiskMethod.setDiskMetadata) { (request: DiskRequest, rpc) async throws -> DiskProperties in
            try await withDisks(rpc, disk: request.disk) { disks, account, key in
                Self.wire(try await disks.setMetadata(account: account, name: request.disk, metadata: request.metadata, accountKey: key))
            }
        }
        router.register(DiskMethod.resizeDisk) { (request: ResizeDiskRequest, rpc) async throws -> DiskProperties in
            try await withDisks(rpc, disk: request.disk) { disks, account, key in
                Self.wire(try await disks.resize(account: account, name: request.disk, size: request.size, accountKey: key))
            }
        }
    }
}
