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
                if request.force {
                    var token: String?
                    repeat {
                        let page = try await store.list(account: account, container: request.container, pageToken: token, accountKey: key)
                        for object in page.objects {
                            try? await store.delete(account: account, container: request.container, name: object.name, accountKey: key)
                        }
                        token = page.nextPageToken
                    } while token != nil
                }
                try await store.deleteContainer(account: account, name: request.container, accountKey: key)
            }
            return EmptyMessage()
        }
    }
}
