import AtRestCrypto
import AtRestLocalState
import AtRestStorage
import AtRestWire
import Glibc
import Synchronization

/// The accounts the front door knows, in memory for the per-call lookup and
/// persisted encrypted at rest (account names, owners and wrapped keys are
/// metadata worth hiding).
///
/// Persistence reuses the object store: the whole registry is one object in
/// format v1 under the front door's own key (`<data>/registry.key`, 32
/// random bytes, 0600, or `$ATREST_FRONTDOOR_ROOT_KEY` as 64 hex), so it
/// gets the same atomic durable write, hashed file names and AES-256-GCM as
/// customer data, with no second sealed-file format.
public final class AccountRegistry: Sendable {
    private let store: ObjectStore
    private let key: AccountKey
    private let records: Mutex<[String: AccountRecord]>
    private let writeLock = Mutex(())
    static let account = "frontdoor"
    static let container = "registry"
    static let object = "accounts"

    public init(dataDirectory: String) throws {
        try Self.makeDirectories(dataDirectory)
        try FileAccess.requirePrivateTree(dataDirectory, what: "front door data directory")
        store = try ObjectStore(directory: "\(dataDirectory)/registry")
        key = try AccountKey(key: try Self.rootKey(dataDirectory),
                             reference: KeyReference(provider: "frontdoor", keyID: "registry", keyVersion: 1, accountKeyVersion: 1))
        var loaded: [String: AccountRecord] = [:]
        do {
            let (_, data) = try store.get(account: Self.account, container: Self.container, name: Self.object, accountKey: key)
            for record in try AccountRegistryState(serialized: data).accounts { loaded[record.info.accountID] = record }
        } catch let error as StorageError where error.code == .containerNotFound || error.code == .notFound {
            if error.code == .containerNotFound {
                try store.createContainer(account: Self.account, name: Self.container, accountKey: key)
            }
        }
        records = Mutex(loaded)
    }

    public func record(_ account: String) -> AccountRecord? { records.withLock { $0[account] } }
    public var all: [AccountRecord] { records.withLock { Array($0.values) }.sorted { $0.info.accountID < $1.info.accountID } }

    /// Applies `change` to the record (nil: absent) and persists the result
    /// before it becomes visible; a failed write changes nothing.
    @discardableResult
    public func update(_ account: String, _ change: (AccountRecord?) throws -> AccountRecord?) throws -> AccountRecord? {
        try writeLock.withLock { _ in
            var next = records.withLock { $0 }
            next[account] = try change(next[account])
            let state = AccountRegistryState(accounts: next.values.sorted { $0.info.accountID < $1.info.accountID })
            try store.put(account: Self.account, container: Self.container, name: Self.object, data: state.serialized(), accountKey: key)
            records.withLock { $0 = next }
            return next[account]
        }
    }

    /// The registry key: from the environment, else the key file (created at first start).
    static func rootKey(_ dataDirectory: String) throws -> SecretBytes {
        if let hex = getenv("ATREST_FRONTDOOR_ROOT_KEY").map({ String(cString: $0) }) {
            guard let bytes = decodeHex(hex), bytes.count == 32 else {
                throw FrontDoorError("ATREST_FRONTDOOR_ROOT_KEY must be 64 hex characters")
            }
            return SecretBytes(bytes)
        }
        let path = "\(dataDirectory)/registry.key"
        let fd = open(path, O_RDONLY)
        if fd >= 0 {
            defer { close(fd) }
            try FileAccess.requirePrivate(path, what: "front door registry key file")
            let key = try SecretBytes(count: 32) { buffer in
                guard read(fd, buffer.baseAddress, 32) == 32 else { throw FrontDoorError("\(path) is not a 32-byte key") }
            }
            return key
        }
        let key = try SecretBytes(randomCount: 32)
        let out = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard out >= 0 else { throw FrontDoorError("cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(out) }
        try key.withUnsafeBytes { bytes in
            guard write(out, bytes.baseAddress, 32) == 32, fsync(out) == 0 else {
                throw FrontDoorError("cannot write \(path): \(String(cString: strerror(errno)))")
            }
        }
        return key
    }

    static func makeDirectories(_ path: String) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            guard mkdir(current, 0o700) == 0 || errno == EEXIST else {
                throw FrontDoorError("cannot create directory '\(current)': \(String(cString: strerror(errno)))")
            }
        }
    }

    static func decodeHex(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        for i in stride(from: 0, to: chars.count, by: 2) {
            guard let byte = UInt8(String(decoding: chars[i..<i + 2], as: UTF8.self), radix: 16) else { return nil }
            out.append(byte)
        }
        return out
    }
}

/// A front door start-up or configuration failure.
public struct FrontDoorError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
