import AtRestBackends
import AtRestLocalState
import AtRestStorage
import AtRestStorageFlags

/// Where `atrest-recover` reads the registry and the objects: the local
/// directories, opened read-only (`LocalBackend(readingOnly:)`), or the Ceph
/// pools of `--backend rados` (the registry in the first pool, as the front
/// door keeps it; reads only, every write verb is left unused).
struct RecoveryStorage: Sendable {
    /// The store of each pool by name; "" is the default (the local
    /// directory, or the first pool).
    let stores: [String: ObjectStore]
    /// The pool name "" stands for in an account record ("" locally).
    let defaultPool: String
    let registry: any StorageBackend
    /// Where the registry is, for messages.
    let registryDescription: String
    /// The account directories (`a-<id>`) of each store, to find data no
    /// registry record opens.
    let accountDirectories: @Sendable () async -> [(pool: String, id: String)]

    static func open(_ options: StorageOptions, objectsDirectory: String, registryDirectory: String) async throws -> RecoveryStorage {
        let configuration = try options.configuration(dataDirectory: objectsDirectory)
        if configuration.kind == .local {
            let store = ObjectStore(backend: try LocalBackend(readingOnly: objectsDirectory))
            return RecoveryStorage(stores: ["": store], defaultPool: "", registry: try LocalBackend(readingOnly: registryDirectory),
                                   registryDescription: "'\(registryDirectory)/registry'") {
                (((try? LocalFile.list(objectsDirectory)) ?? nil) ?? []).filter { $0.hasPrefix("a-") }.map { ("", $0) }
            }
        }
        let pools = try await options.open(dataDirectory: objectsDirectory)
        var stores: [String: ObjectStore] = [:]
        for (pool, backend) in pools.backends { stores[pool] = ObjectStore(backend: backend) }
        let backends = pools.backends
        return RecoveryStorage(stores: stores, defaultPool: pools.classes.defaultClass.pool, registry: pools.defaultBackend,
                               registryDescription: "'registry/' of pool '\(pools.classes.defaultClass.pool)'") {
            var found: [(pool: String, id: String)] = []
            for (pool, backend) in backends.sorted(by: { $0.key < $1.key }) {
                guard let rados = backend as? RadosBackend else { continue }
                let names = (try? await rados.topLevelContainers()) ?? []
                found += names.filter { $0.hasPrefix("a-") }.map { (pool, $0) }
            }
            return found
        }
    }
}
