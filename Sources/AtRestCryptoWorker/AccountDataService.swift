import AtRestStorage
import AtRestWire

/// `atrest.v1.AccountData/*` for the front door (admission lets only the
/// `service` role call them): what an account holds, from the listings of
/// its containers, queues, tables, disks and shares under its account key,
/// and the erase of all of it before the front door destroys that key
/// (docs/DATA-PATH.md "Deleting an account"). Uses the kinds' own stores
/// (the same caches as their methods), so an erase is seen by every call.
struct AccountDataService: Sendable {
    let blobs: BlobService
    let queues: QueueService
    let tables: TableService
    let disks: DiskService
    let files: FileService
    /// For `WrapNameKey` (the vault's Wrap as the managed identity); nil: refused.
    var keyVault: AccountKeyVault? = nil

    func register(on router: inout RPCRouter) {
        router.register(AccountDataMethod.usage) { (_: EmptyMessage, rpc) async throws -> AccountUsage in
            try await blobs.withKey(rpc) { store, account, key in try await held(store, account, key).usage }
        }
        router.register(AccountDataMethod.erase) { (_: EmptyMessage, rpc) async throws -> AccountUsage in
            try await blobs.withKey(rpc) { store, account, key in try await erase(store, account, key) }
        }
        router.register(AccountDataMethod.reencryptPlan) { (request: AccountReencryptPlanRequest, rpc) async throws -> AccountReencryptPlan in
            try await blobs.withKey(rpc) { store, account, key in try await reencryptPlan(request, store, account, key) }
        }
        router.register(AccountDataMethod.wrapNameKey) { (_: EmptyMessage, rpc) async throws -> AccountKeyEntry in
            try await wrapNameKey(rpc)
        }
        router.register(AccountDataMethod.collectBlocks) { (request: CollectBlocksRequest, rpc) async throws -> CollectBlocksResponse in
            try await blobs.withKey(rpc) { store, account, key in try await collectBlocks(request, store, account, key) }
        }
        router.register(AccountDataMethod.reencrypt) { (request: BlobReencryptRequest, rpc) async throws -> BlobReencryptResponse in
            request.kind.isEmpty ? try await blobs.reencryptPage(request, rpc) : try await reencryptRecords(request, rpc)
        }
    }

    /// The names of everything the account holds (first 1000 of each kind).
    struct Held {
        var containers: [String] = [], queues: [String] = [], tables: [String] = [], disks: [String] = [], shares: [String] = []
        var usage: AccountUsage {
            AccountUsage(containers: UInt32(containers.count), queues: UInt32(queues.count), tables: UInt32(tables.count),
                         disks: UInt32(disks.count), shares: UInt32(shares.count))
        }
    }

    func held(_ store: ObjectStore, _ account: String, _ key: AccountKey) async throws -> Held {
        var held = Held()
        held.containers = try await store.listContainers(account: account, accountKey: key)
        held.queues = try await queues.stores.store(for: store).listQueues(account: account, accountKey: key).queues.map(\.name)
        held.tables = try await TableStore(backend: store.backend).listTables(account: account, accountKey: key).tables.map(\.name)
        held.disks = try await disks.stores.store(for: store).listDisks(account: account, accountKey: key).disks.map(\.name)
        held.shares = try await files.stores.store(for: store).listShares(account: account, accountKey: key).shares.map(\.name)
        return held
    }

    /// The containers a re-encryption job goes through (all, or the one named,
    /// which must exist) and how many blobs (and bytes) they hold now.
    func reencryptPlan(_ request: AccountReencryptPlanRequest, _ store: ObjectStore, _ account: String, _ key: AccountKey) async throws -> AccountReencryptPlan {
        var plan = AccountReencryptPlan()
        if request.container.isEmpty {
            plan.containers = try await store.listContainers(account: account, accountKey: key)
        } else {
            try BlobLimits.checkContainer(request.container)
            plan.containers = [request.container]
        }
        for container in plan.containers {
            var token: String?
            repeat {
                let listing = try await store.list(account: account, container: container, pageToken: token, maxResults: 1000, accountKey: key)
                plan.objects += UInt64(listing.objects.count)
                plan.bytes += listing.objects.reduce(0) { $0 + $1.length }
                token = listing.nextPageToken
            } while token != nil
        }
        return plan
    }

    /// Every container's uncommitted staged blocks older than the retention
    /// (`ObjectStore.collectGarbage`); a container whose block lists cannot
    /// all be read is skipped whole and counted, the others go on. Then the
    /// orphaned extents of the account's disks and files older than the
    /// retention (`OrphanExtents`).
    func collectBlocks(_ request: CollectBlocksRequest, _ store: ObjectStore, _ account: String, _ key: AccountKey) async throws -> CollectBlocksResponse {
        var result = CollectBlocksResponse()
        for container in try await store.listContainers(account: account, accountKey: key) {
            do {
                result.removed += UInt64(try await store.collectGarbage(account: account, container: container,
                                                                        retentionSeconds: Int(request.retentionSeconds), accountKey: key))
                result.containers += 1
            } catch {
                result.failed += 1
                blobs.logger.warning("block collection skipped a container", metadata: ["account": "\(account)", "error": "\(error)"])
            }
        }
        do {
            let orphans = try await OrphanExtents.collect(backend: store.backend, account: account, accountKey: key,
                                                          graceSeconds: Int(request.retentionSeconds))
            result.extentsRemoved = UInt64(orphans.removed)
            result.extentsSkipped = UInt32(clamping: orphans.skipped)
        } catch {
            result.failed += 1
            blobs.logger.warning("orphaned extent collection stopped; the next pass tries again", metadata: ["account": "\(account)", "error": "\(error)"])
        }
        return result
    }

    /// Deletes everything, kind by kind, until a listing finds nothing; one
    /// item that fails is skipped (its files stay, undecryptable once the key is gone).
    func erase(_ store: ObjectStore, _ account: String, _ key: AccountKey) async throws -> AccountUsage {
        var erased = AccountUsage()
        for _ in 0..<16 {
            let held = try await held(store, account, key)
            if held.usage.isEmpty { break }
            let before = erased
            for container in held.containers {
                erased.blobs += try await BlobService.deleteObjects(store, account, container, key)
                if (try? await store.deleteContainer(account: account, name: container, accountKey: key)) != nil { erased.containers += 1 }
            }
            let queueStore = queues.stores.store(for: store), tableStore = TableStore(backend: store.backend)
            let diskStore = disks.stores.store(for: store), fileStore = files.stores.store(for: store)
            for name in held.queues where (try? await queueStore.deleteQueue(account: account, name: name, accountKey: key)) != nil { erased.queues += 1 }
            for name in held.tables where (try? await tableStore.deleteTable(account: account, name: name, accountKey: key)) != nil { erased.tables += 1 }
            for name in held.disks where (try? await diskStore.deleteDisk(account: account, name: name, accountKey: key)) != nil { erased.disks += 1 }
            for name in held.shares where (try? await fileStore.deleteShare(account: account, name: name, accountKey: key)) != nil { erased.shares += 1 }
            if erased == before { break }  // nothing would go: stop rather than loop
        }
        return erased
    }
}
