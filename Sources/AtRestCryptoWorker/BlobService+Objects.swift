import AtRestStorage
import AtRestWire
import Tracing

extension BlobService {
    func registerObjectMethods(_ router: inout RPCRouter) {
        router.register(BlobMethod.put) { (request: BlobPutRequest, rpc) async throws -> BlobProperties in
            try BlobLimits.checkContainer(request.container)
            try BlobLimits.checkBlobName(request.name)
            try BlobLimits.checkMetadata(request.metadata)
            try BlobLimits.checkContentType(request.contentType)
            try BlobLimits.checkContentHash(request.contentHash)
            let parts = rpc.parts  // the received frames, sealed from where they are (no copy)
            let metadata = try await withWriteKey(rpc, container: request.container, scope: request.scope,
                                                  customerKey: request.encryptionKey) { store, account, key in
                try await Self.put(parts, store: store, account: account, container: request.container, name: request.name,
                                   userMetadata: request.metadata,
                                   contentType: request.contentType.isEmpty ? "application/octet-stream" : request.contentType,
                                   contentHash: request.contentHash.isEmpty ? nil : request.contentHash, accountKey: key)
            }
            return Self.properties(request.container, metadata)
        }
        router.register(BlobMethod.get) { (request: BlobGetRequest, rpc) async throws -> (BlobGetResponse, [PayloadPart]) in
            try BlobLimits.checkContainer(request.container)
            try BlobLimits.checkBlobName(request.name)
            let maxPayload = UInt64(limits.maxPayloadBytes)
            return try await withKey(rpc, customerKey: request.encryptionKey) { store, account, key in
                var reply: AlignedBuffer?
                var offset: UInt64 = 0
                // One open of the object: the range is clipped to the blob that
                // is read ("next block" reads need no length up front) and
                // checked against the reply limit before any byte is decrypted;
                // the segments are decrypted straight into the reply frame's
                // buffer (pooled, page-aligned: no copy after the cipher).
                // "open": the read and the decryption (streamed together).
                let metadata = try await withSpan("open") { _ in
                    try await store.read(
                        account: account, container: request.container, name: request.name, range: request.range,
                        clipToLength: true, accountKey: key,
                        into: { range in
                            guard UInt64(range.count) <= maxPayload else {
                                throw StorageError(.invalidArgument, request.range == nil
                                    ? "blob '\(request.name)' is larger than the limit of \(maxPayload) bytes per reply; read it in ranges"
                                    : "range of \(range.count) bytes is larger than the limit of \(maxPayload) bytes per reply; read in smaller ranges")
                            }
                            offset = range.lowerBound
                            let buffer = AlignedBuffer(overwrittenCount: range.count)
                            reply = buffer
                            return buffer.mutableBytes
                        })
                }
                let properties = BlobGetResponse(properties: Self.properties(request.container, metadata), offset: offset)
                guard let reply, reply.count > 0 else { return (properties, []) }
                return (properties, reply.payload)
            }
        }
        router.register(BlobMethod.getProperties) { (request: BlobRequest, rpc) async throws -> BlobProperties in
            try BlobLimits.checkContainer(request.container)
            try BlobLimits.checkBlobName(request.name)
            return Self.properties(request.container, try await withKey(rpc, customerKey: request.encryptionKey) { store, account, key in
                try await store.metadata(account: account, container: request.container, name: request.name, accountKey: key)
            })
        }
        router.register(BlobMethod.setMetadata) { (request: BlobSetMetadataRequest, rpc) async throws -> BlobProperties in
            try BlobLimits.checkContainer(request.container)
            try BlobLimits.checkBlobName(request.name)
            try BlobLimits.checkMetadata(request.metadata)
            if let type = request.contentType { try BlobLimits.checkContentType(type) }
            return Self.properties(request.container, try await withKey(rpc, customerKey: request.encryptionKey) { store, account, key in
                try await store.setMetadata(account: account, container: request.container, name: request.name,
                                      userMetadata: request.metadata, contentType: request.contentType, accountKey: key)
            })
        }
        router.register(BlobMethod.list) { (request: BlobListRequest, rpc) async throws -> BlobListResponse in
            try BlobLimits.checkContainer(request.container)
            let max = request.maxResults == 0 ? 1000 : Int(min(request.maxResults, 5000))
            let page = try await withKey(rpc) { store, account, key in
                try await store.list(account: account, container: request.container, prefix: request.prefix,
                               pageToken: request.pageToken.isEmpty ? nil : request.pageToken, maxResults: max, accountKey: key)
            }
            if !page.damaged.isEmpty { logDamaged(page.damaged, rpc) }
            return BlobListResponse(blobs: page.objects.map { Self.properties(request.container, $0) },
                                    nextPageToken: page.nextPageToken ?? "", damagedCount: UInt32(page.damaged.count),
                                    damagedIDs: Array(page.damaged.prefix(BlobListResponse.maxDamagedIDs)))
        }
        router.register(BlobMethod.delete) { (request: BlobRequest, rpc) async throws -> EmptyMessage in
            try BlobLimits.checkContainer(request.container)
            try BlobLimits.checkBlobName(request.name)
            try await withKey(rpc) { store, account, key in
                try await store.delete(account: account, container: request.container, name: request.name, accountKey: key)
            }
            return EmptyMessage()
        }
    }

    /// Stores a request's payload from the received frames (no copy; one
    /// frame, the usual case, is sealed in place: `ObjectStore.put`).
    static func put(_ parts: [PayloadPart], store: ObjectStore, account: String, container: String, name: String,
                    userMetadata: [String: String], contentType: String, contentHash: [UInt8]?,
                    accountKey: AccountKey) async throws -> ObjectMetadata {
        return try await store.put(account: account, container: container, name: name, userMetadata: userMetadata,
                                   contentType: contentType, contentHash: contentHash, accountKey: accountKey,
                                   length: parts.reduce(0) { $0 + $1.count }) { append in
            for part in parts { try part.withUnsafeBytes(append) }
        }
    }

    func registerBlockMethods(_ router: inout RPCRouter) {
        router.register(BlobMethod.stageBlock) { (request: StageBlockRequest, rpc) async throws -> StageBlockResponse in
            try BlobLimits.checkContainer(request.container)
            try BlobLimits.checkBlobName(request.name)
            try BlobLimits.checkContentHash(request.contentHash)
            guard (1...BlobLimits.maxBlockIDBytes).contains(request.blockID.count) else {
                throw RPCStatus(.invalidArgument, "block id must be 1-\(BlobLimits.maxBlockIDBytes) bytes")
            }
            let parts = rpc.parts
            let metadata = try await withWriteKey(rpc, container: request.container, scope: request.scope) { store, account, key in
                try await store.stageBlock(
                    account: account, container: request.container, name: request.name, blockID: request.blockID,
                    contentHash: request.contentHash.isEmpty ? nil : request.contentHash, accountKey: key,
                    length: parts.reduce(0) { $0 + $1.count }) { append in
                    for part in parts { try part.withUnsafeBytes(append) }
                }
            }
            return StageBlockResponse(
                blockID: request.blockID, length: metadata.length,
                contentHash: metadata.contentHash == ObjectMetadata.noContentHash ? [] : metadata.contentHash)
        }
        router.register(BlobMethod.commitBlocks) { (request: CommitBlocksRequest, rpc) async throws -> BlobProperties in
            try BlobLimits.checkContainer(request.container)
            try BlobLimits.checkBlobName(request.name)
            try BlobLimits.checkMetadata(request.metadata)
            try BlobLimits.checkContentType(request.contentType)
            guard request.blockIDs.count <= 50_000 else {
                throw RPCStatus(.invalidArgument, "\(request.blockIDs.count) blocks; a blob has at most 50000")
            }
            // Blocks staged under an older version of the account's own chain (before a rotation) move to the current one.
            let migrating = try Self.migratingVersions(rpc)
            return Self.properties(request.container, try await withWriteKey(rpc, container: request.container, scope: request.scope) {
                store, account, key in
                try await store.commitBlocks(
                    account: account, container: request.container, name: request.name, blockIDs: request.blockIDs,
                    userMetadata: request.metadata,
                    contentType: request.contentType.isEmpty ? "application/octet-stream" : request.contentType, migrating: migrating, accountKey: key)
            })
        }
    }
}
