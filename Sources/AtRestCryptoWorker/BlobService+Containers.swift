import AtRestStorage
import AtRestWire

extension BlobService {
    func registerContainerMethods(_ router: inout RPCRouter) {
        router.register(BlobMethod.createContainer) { (request: ContainerRequest, rpc) async throws -> EmptyMessage in
            try BlobLimits.checkContainer(request.container)
            let marker = try BlobScopes.markerMetadata(request, try Self.accountContext(rpc.header))
            try await withKey(rpc) { store, account, key in
                try await store.createContainer(account: account, name: request.container, userMetadata: marker, accountKey: key)
            }
            return EmptyMessage()
        }
        router.register(BlobMethod.listContainers) { (_: EmptyMessage, rpc) async throws -> ContainerListResponse in
            ContainerListResponse(containers: try await withKey(rpc) { store, account, key in
                try await store.listContainers(account: account, accountKey: key)
            })
        }
        router.register(BlobMethod.deleteContainer) { (request: ContainerRequest, rpc) async throws -> EmptyMessage in
            try BlobLimits.checkContainer(request.container)
            try await withKey(rpc) { store, account, key in
                if request.force { _ = try await Self.deleteObjects(store, account, request.container, key) }
                try await store.deleteContainer(account: account, name: request.container, accountKey: key)
            }
            return EmptyMessage()
        }
    }

    /// Deletes every object of the container (best effort per object); how many went.
    static func deleteObjects(_ store: ObjectStore, _ account: String, _ container: String, _ key: AccountKey) async throws -> UInt64 {
        var token: String?
        var deleted: UInt64 = 0
        repeat {
            let page = try await store.list(account: account, container: container, pageToken: token, accountKey: key)
            for object in page.objects {
                if (try? await store.delete(account: account, container: container, name: object.name, accountKey: key)) != nil { deleted += 1 }
            }
            token = page.nextPageToken
        } while token != nil
        return deleted
    }
}
