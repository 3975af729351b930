import AtRestCrypto
import AtRestMessaging
import AtRestStorage
import AtRestWire
import Tracing
import Logging

/// The blob methods a crypto worker serves (`atrest.v1.Blob/*`) on an
/// `ObjectStore` of the account's pool, for calls the front door has authenticated and tagged with
/// an `AccountContext`.
///
/// Every call: read the context, validate names/metadata (INVALID_ARGUMENT
/// before any key work), get the account key from the cache (one vault
/// unwrap per account), then run the store operation. Put and StageBlock
/// answer only after the backend's atomic durable write, so an acknowledged
/// write survives a SIGKILL of the worker.
public struct BlobService: Sendable {
    public let stores: ObjectStores
    public let keys: AccountKeyCache
    public let limits: MessagingLimits
    let logger: Logger

    public init(stores: ObjectStores, keys: AccountKeyCache, limits: MessagingLimits = .default,
                logger: Logger = Logger(label: "atrest.worker.blob")) {
        self.stores = stores
        self.keys = keys
        self.limits = limits
        self.logger = logger
    }

    /// The method table; wraps every handler with context, key and error mapping.
    public var router: RPCRouter {
        var router = RPCRouter()
        registerContainerMethods(&router)
        registerObjectMethods(&router)
        registerReencryptMethod(&router)
        registerBlockMethods(&router)
        return router
    }

    /// The account context the front door attached.
    static func accountContext(_ header: RPCHeader) throws -> AccountContext {
        guard let context = header.accountContext, !context.accountID.isEmpty else {
            throw RPCStatus(.failedPrecondition, "call reached a worker without an account context; blob calls go through the front door")
        }
        return context
    }

    /// Runs `body` with the store of the account's pool and the account's
    /// key, mapping storage errors (the store leaves blocking I/O to its
    /// backend: `BlockingIO` for files, completions for librados). A
    /// request's customer-provided key is checked first and travels with the
    /// account key (`CustomerKeys`).
    func withKey<T>(_ rpc: RPCContext, customerKey sent: CustomerProvidedKey? = nil,
                    _ body: (ObjectStore, String, AccountKey) async throws -> T) async throws -> T {
        let context = try Self.accountContext(rpc.header)
        let customerKey = try CustomerKeys.verified(sent, rpc.header)
        let store = try stores.store(for: context.pool)
        let accountKey = try await withSpan("key lookup") { _ in try await keys.keyWithScopes(for: context) }
        let key = try customerKey.map { try accountKey.withCustomerKey($0) } ?? accountKey
        let account = context.accountID
        do {
            return try await body(store, account, key)
        } catch let error as StorageError {
            let status = error.rpcStatus
            if status.code == .dataLoss || status.code == .internal {
                logger.error("storage failure", metadata: ["account": "\(account)", "error": "\(error)"])
            }
            throw status
        }
    }

    /// `withKey` for a write into `container`, sealing under the scope the
    /// request names, else the container's default scope, else the account's
    /// current key (`BlobScopes`). An account without scopes has no container
    /// default either: its writes skip the marker read.
    func withWriteKey<T>(_ rpc: RPCContext, container: String, scope: String, customerKey: CustomerProvidedKey? = nil,
                         _ body: (ObjectStore, String, AccountKey) async throws -> T) async throws -> T {
        let context = try Self.accountContext(rpc.header)
        return try await withKey(rpc, customerKey: customerKey) { store, account, key in
            guard context.keys.contains(where: { !$0.scope.isEmpty }) else {
                if !scope.isEmpty { _ = try BlobScopes.entry(scope, context) }  // NOT_FOUND, naming it
                return try await body(store, account, key)
            }
            let marker = try await store.containerMetadata(account: account, name: container, accountKey: key)
            let name = try BlobScopes.chosen(requested: scope, marker: marker, container: container)
            guard !name.isEmpty else { return try await body(store, account, key) }
            let entry = try BlobScopes.entry(name, context)
            return try await body(store, account, try key.sealing(version: entry.accountKeyVersion))
        }
    }

    /// One log line per listing that met objects failing authentication:
    /// the account and their storage ids (keyed hashes; never clear names).
    func logDamaged(_ ids: [String], _ rpc: RPCContext) {
        let account = (try? Self.accountContext(rpc.header).accountID) ?? "?"
        logger.error("list skipped damaged objects", metadata: [
            "account": "\(account)", "count": "\(ids.count)",
            "ids": "\(ids.prefix(BlobListResponse.maxDamagedIDs).joined(separator: ","))",
        ])
    }

    static func properties(_ container: String, _ metadata: ObjectMetadata) -> BlobProperties {
        BlobProperties(
            container: container, name: metadata.name, length: metadata.length, contentType: metadata.contentType,
            createdAtMs: metadata.creationTime,
            contentHash: metadata.contentHash == ObjectMetadata.noContentHash ? [] : metadata.contentHash,
            metadata: metadata.userMetadata)
    }
}
