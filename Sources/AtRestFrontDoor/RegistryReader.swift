import AtRestCrypto
import AtRestLocalState
import AtRestStorage
import AtRestWire
import Glibc

/// The account records of a registry backend read offline, for recovery
/// (`atrest-recover`): nothing is created or cached and nothing refreshes;
/// a record that does not open is reported with its storage name and the
/// reason, and the others are still read.
public struct RegistryReader: Sendable {
    let backend: any StorageBackend
    let sealing: RegistrySealing

    public init(backend: any StorageBackend, rootKey: SecretBytes) throws {
        self.backend = backend
        sealing = try RegistrySealing(rootKey: rootKey)
    }

    /// A record that could not be read: its storage name (`r-…`, shortened) and why.
    public struct Damaged: Sendable, Equatable {
        public var name: String
        public var reason: String
    }

    /// Every record that opens, in account-id order, and those that do not.
    /// No registry container at all is an empty registry.
    public func records() async throws -> (records: [AccountRecord], damaged: [Damaged]) {
        guard try await AccountRegistry.hasRecords(backend) else { return ([], []) }
        let names = try await AccountRegistry.listNames(on: backend)
        var records: [AccountRecord] = [], damaged: [Damaged] = []
        for objectName in names {
            let name = try BackendName(RegistrySealing.container, objectName)
            do {
                records.append(try sealing.open(try await backend.get(name).bytes, as: name))
            } catch let status as RPCStatus {
                damaged.append(Damaged(name: "\(objectName.prefix(18))…", reason: status.message))
            } catch let error as StorageError where error.code == .notFound {
                continue
            }
        }
        return (records.sorted { $0.info.accountID < $1.info.accountID }, damaged)
    }

    /// The front door root key for reading: `$ATREST_FRONTDOOR_ROOT_KEY`,
    /// else the key file at `path` in its format (64 hex) or that of earlier
    /// releases (32 raw bytes), which is accepted as it is and not rewritten.
    /// Never creates a key.
    public static func rootKey(path: String) throws -> SecretBytes {
        if getenv(AccountRegistry.keyEnvironmentVariable) == nil, var bytes = try LocalFile.read(path),
           bytes.count == AccountRegistry.legacyKeySize {
            defer { for i in bytes.indices { bytes[i] = 0 } }
            try LocalFile.requireOwnerOnly(path, what: "front door root key file")
            return SecretBytes(bytes)
        }
        return try RootKeyFile.resolve(path: path, environmentVariable: AccountRegistry.keyEnvironmentVariable, mayCreate: false,
                                       service: "front door")
    }
}
