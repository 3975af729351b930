import AtRestCrypto
import AtRestLocalState
import AtRestStorage
import AtRestWire

/// How one account record is named and sealed on the registry backend
/// (docs/FORMAT.md "Account registry records").
///
/// Name: `r-` ‖ hex(HMAC-SHA256(name key, account id)) in the container
/// `registry`, the name key HKDF-derived from the front door root key, so the
/// backend never sees an account name. Bytes: `SealedBox` under the root key
/// with label `frontdoor/registry/` ‖ object name, over the serialized
/// `atrest.v1.AccountRecord`. The name is a keyed hash of the account id, and
/// an opened record must carry an id that hashes to the name it was read
/// from: a record copied to another name, or naming another account, fails
/// closed as DATA_LOSS.
struct RegistrySealing: Sendable {
    static let container = try! BackendContainer("registry")
    static let namePrefix = "r-"
    private let rootKey: SecretBytes
    private let nameKey: SecretBytes

    init(rootKey: SecretBytes) throws {
        self.rootKey = rootKey
        nameKey = try HKDF.deriveKey(from: rootKey, salt: [UInt8](), info: Array("atrest/v1/frontdoor/registry-names".utf8),
                                     outputCount: HMACSHA256.macSize)
    }

    func name(_ accountID: String) throws -> BackendName {
        try BackendName(Self.container, Self.namePrefix + Hex.encode(HMACSHA256.authenticate(Array(accountID.utf8), using: nameKey)))
    }

    func seal(_ record: AccountRecord, as name: BackendName) throws -> [UInt8] {
        try SealedBox.seal(record.serialized(), rootKey: rootKey, label: Self.label(name))
    }

    /// The record stored as `name`; DATA_LOSS when it does not authenticate
    /// or does not belong under that name.
    func open(_ bytes: [UInt8], as name: BackendName, account: String? = nil) throws -> AccountRecord {
        let what = account.map { "the registry record of account '\($0)'" } ?? "registry record \(name.object.prefix(18))…"
        guard let content = SealedBox.open(bytes, rootKey: rootKey, label: Self.label(name)) else {
            throw RPCStatus(.dataLoss, "\(what) does not authenticate under the front door root key (edited, corrupt, or written "
                            + "under another root key: every front door of a cluster needs the same key); restore it from a backup",
                            details: ["reason": "registryIntegrity"])
        }
        let record: AccountRecord
        do { record = try content.withUnsafeBytes { try AccountRecord(serialized: $0) } } catch {
            throw RPCStatus(.dataLoss, "\(what) authenticates but does not decode as an account record", details: ["reason": "registryIntegrity"])
        }
        guard try self.name(record.info.accountID) == name, account.map({ $0 == record.info.accountID }) ?? true else {
            throw RPCStatus(.dataLoss, "\(what) names another account: it was moved between names on the backend",
                            details: ["reason": "registryIntegrity"])
        }
        return record
    }

    private static func label(_ name: BackendName) -> String { "frontdoor/registry/\(name.object)" }
}
