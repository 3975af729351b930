import AtRestStorage
import AtRestWire

extension FileService {
    func registerShareMethods(_ router: inout RPCRouter) {
        router.register(FileMethod.createShare) { (request: CreateShareRequest, rpc) async throws -> ShareProperties in
            try await withFiles(rpc, share: request.share) { files, account, key in
                Self.wire(try await files.createShare(account: account, name: request.share, quota: request.quota, metadata: request.metadata,
                                                      accountKey: key))
            }
        }
        router.register(FileMethod.deleteShare) { (request: ShareRequest, rpc) async throws -> EmptyMessage in
            try await withFiles(rpc, share: request.share) { files, account, key in
                try await files.deleteShare(account: account, name: request.share, accountKey: key)
            }
            return EmptyMessage()
        }
        router.register(FileMethod.listShares) { (request: ShareListRequest, rpc) async throws -> ShareListResponse in
            try await withFiles(rpc, share: nil) { files, account, key in
                let page = try await files.listShares(account: account, prefix: request.prefix,
                                                      continuation: request.continuation.isEmpty ? nil : request.continuation,
                                                      limit: Self.pageSize(request.pageSize), accountKey: key)
                return ShareListResponse(shares: page.shares.map(Self.wire), continuation: page.continuation ?? "")
            }
        }
        router.register(FileMethod.getShareProperties) { (request: ShareRequest, rpc) async throws -> ShareProperties in
            try await withFiles(rpc, share: request.share) { files, account, key in
                Self.wire(try await files.shareProperties(account: account, name: request.share, accountKey: key))
            }
        }
        router.register(FileMethod.setShareQuota) { (request: SetShareQuotaRequest, rpc) async throws -> ShareProperties in
            try await withFiles(rpc, share: request.share) { files, account, key in
                Self.wire(try await files.setShareQuota(account: account, name: request.share, quota: request.quota, accountKey: key))
            }
        }
        router.register(FileMethod.setShareMetadata) { (request: ShareRequest, rpc) async throws -> ShareProperties in
            try await withFiles(rpc, share: request.share) { files, account, key in
                Self.wire(try await files.setShareMetadata(account: account, name: request.share, metadata: request.metadata, accountKey: key))
            }
        }
    }
}
