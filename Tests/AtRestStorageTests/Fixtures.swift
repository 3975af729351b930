import AtRestCrypto
@testable import AtRestStorage

/// Shared helpers: keys, deterministic data, sealing with small segments.
enum Fixtures {
    static let reference = KeyReference(provider: "managed", keyID: "kek-1", keyVersion: 2, accountKeyVersion: 1)

    static func accountKey(_ reference: KeyReference = reference) throws -> AccountKey {
        try AccountKey(key: SecretBytes(randomCount: 32), reference: reference)
    }

    static func data(_ count: Int, seed: UInt8 = 7) -> [UInt8] {
        var x = UInt32(seed) | 0x9e37_0000
        return (0..<count).map { _ in x = x &* 1_664_525 &+ 1_013_904_223; return UInt8(x >> 24) }
    }

    static let identity = ObjectIdentity(account: "acct", container: "photos")

    /// Seals through the streaming path with `segmentSize`, feeding `chunk`-sized pieces.
    static func sealStreaming(_ data: [UInt8], key: AccountKey, identity: ObjectIdentity = identity,
                              metadata: ObjectMetadata = ObjectMetadata(name: "a/b.jpg"), segmentSize: Int = 1024, chunk: Int = 700) throws -> [UInt8] {
        let sealer = try ObjectSealer(accountKey: key, context: identity.context, metadata: metadata, flags: [], segmentSize: segmentSize)
        var out = sealer.provisionalHeader
        var offset = 0
        repeat {
            let end = min(offset + chunk, data.count)
            try sealer.append(Array(data[offset..<end])) { out.append(contentsOf: $0) }
            offset = end
        } while offset < data.count
        let (header, _) = try sealer.finish { out.append(contentsOf: $0) }
        out.replaceSubrange(0..<header.count, with: header)
        return out
    }

    static func headerSize(_ sealed: [UInt8], key: AccountKey, identity: ObjectIdentity = identity) throws -> Int {
        try ObjectReader(source: BufferSource(sealed), accountKey: key, context: identity.context).headerBytes.count
    }

    /// A fresh store in a temp directory with container `c` of account
    /// `acct`; `body` gets the store and the container's directory.
    static func withStore(_ key: AccountKey, _ body: (ObjectStore, String) async throws -> Void) async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let store = try ObjectStore(directory: dir.path)
        try await store.createContainer(account: "acct", name: "c", accountKey: key)
        try await body(store, try containerPath(store, "acct", "c", key))
    }

    /// The directory of a container of a local store.
    static func containerPath(_ store: ObjectStore, _ account: String, _ container: String, _ key: AccountKey) throws -> String {
        "\(store.directory!)/\(try store.containerID(account, container, key).id)"
    }

    /// The path of an object's file in a local store.
    static func objectPath(_ store: ObjectStore, _ account: String, _ container: String, _ name: String, _ key: AccountKey) throws -> String {
        "\(try containerPath(store, account, container, key))/o-\(try store.objectHash(container, name, key))"
    }

    static func local(_ store: ObjectStore) -> LocalBackend { store.backend as! LocalBackend }
}
