import AtRestStorage
import AtRestWire

extension AccountDataService {
    /// `AccountData/Reencrypt` with a kind: one page of the account's queues,
    /// tables, disks or shares resealed under the current account key version
    /// (`RecordReencryption`; docs/DATA-PATH.md "Re-encryption job"). Pages
    /// are resumable by token, and repeating one is harmless.
    func reencryptRecords(_ request: BlobReencryptRequest, _ rpc: RPCContext) async throws -> BlobReencryptResponse {
        guard let kind = RecordKind(rawValue: request.kind) else {
            throw RPCStatus(.invalidArgument, "kind '\(request.kind.prefix(40))' is not one of \(BlobReencryptRequest.recordKinds.joined(separator: ", "))")
        }
        guard request.container.isEmpty else {
            throw RPCStatus(.invalidArgument, "a re-encryption page of \(request.kind) covers the whole account; container must be empty")
        }
        guard request.maxObjects <= BlobReencryptRequest.maxRecordsPerPage else {
            throw RPCStatus(.invalidArgument, "max_objects is at most \(BlobReencryptRequest.maxRecordsPerPage) records, got \(request.maxObjects)")
        }
        let migrating = try BlobService.migratingVersions(rpc)
        return try await blobs.withKey(rpc) { store, account, key in
            let page = try await RecordReencryption(backend: store.backend, account: account, accountKey: key, migrating: migrating)
                .page(kind, pageToken: request.pageToken.isEmpty ? nil : request.pageToken,
                      maxRecords: request.maxObjects == 0 ? 1000 : Int(request.maxObjects))
            if page.rewritten > 0 {
                blobs.logger.info("re-encrypted a page of records", metadata: [
                    "account": "\(account)", "kind": "\(kind.rawValue)", "rewritten": "\(page.rewritten)", "raced": "\(page.raced)",
                    "accountKeyVersion": "\(key.reference.accountKeyVersion)",
                ])
            }
            return BlobReencryptResponse(objects: UInt32(page.objects), rewritten: UInt32(page.rewritten), bytes: page.bytes,
                                         raced: UInt32(page.raced), skipped: UInt32(page.skipped),
                                         nextPageToken: page.nextPageToken ?? "", accountKeyVersion: key.reference.accountKeyVersion)
        }
    }
}
