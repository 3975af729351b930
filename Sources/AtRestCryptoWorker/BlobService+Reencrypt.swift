import AtRestStorage
import AtRestWire

extension BlobService {
    /// `Blob/Reencrypt` (owner: not a reader method, so the front door admits owners
    /// only): one page of a container rewritten under the current account key
    /// version (`ObjectStore.reencrypt`). Pages are resumable by token, and
    /// repeating one is harmless.
    func registerReencryptMethod(_ router: inout RPCRouter) {
        router.register(BlobMethod.reencrypt) { (request: BlobReencryptRequest, rpc) async throws -> BlobReencryptResponse in
            guard request.kind.isEmpty else {
                throw RPCStatus(.invalidArgument, "Blob/Reencrypt rewrites the blobs of a container; kind must be empty (`atrest account reencrypt` covers queues, tables, disks and shares)")
            }
            return try await reencryptPage(request, rpc)
        }
    }

    /// One page of `Blob/Reencrypt`, or of `AccountData/Reencrypt` (the front door's job).
    func reencryptPage(_ request: BlobReencryptRequest, _ rpc: RPCContext) async throws -> BlobReencryptResponse {
        try BlobLimits.checkContainer(request.container)
        guard request.maxObjects <= 1000 else {
            throw RPCStatus(.invalidArgument, "max_objects is at most 1000, got \(request.maxObjects)")
        }
        let migrating = try Self.migratingVersions(rpc)
        return try await withKey(rpc) { store, account, key in
            let page = try await store.reencrypt(account: account, container: request.container,
                                                 pageToken: request.pageToken.isEmpty ? nil : request.pageToken,
                                                 maxObjects: request.maxObjects == 0 ? 100 : Int(request.maxObjects),
                                                 migrating: migrating, accountKey: key)
            if page.rewritten > 0 || page.skipped > 0 {
                logger.info("re-encrypted a page", metadata: [
                    "account": "\(account)", "rewritten": "\(page.rewritten)", "bytes": "\(page.bytes)", "skipped": "\(page.skipped)",
                    "accountKeyVersion": "\(key.reference.accountKeyVersion)",
                ])
            }
            return BlobReencryptResponse(objects: UInt32(page.objects), rewritten: UInt32(page.rewritten), bytes: page.bytes,
                                         raced: UInt32(page.raced), skipped: UInt32(page.skipped),
                                         nextPageToken: page.nextPageToken ?? "", accountKeyVersion: key.reference.accountKeyVersion)
        }
    }
}

extension BlobService {
    /// The versions re-encryption moves to the current one: the account's
    /// own chain (scope keys stay theirs; a names-only entry opens nothing).
    static func migratingVersions(_ rpc: RPCContext) throws -> Set<UInt32> {
        Set(try accountContext(rpc.header).keys.filter { $0.isOwnChain && !$0.namesOnly }.map(\.accountKeyVersion))
    }
}
