import AtRestCrypto
@testable import AtRestStorage
import AtRestTesting
import Foundation

/// Byte arrays compared with memcmp. The test targets compile unoptimised
/// (Package.swift), where the standard library's generic `==` compares byte
/// by byte through witness tables; the suites here compare megabytes per
/// step. Being concrete, this overload is the one `==` on two `[UInt8]`
/// picks, in `#expect` too.
func == (lhs: [UInt8], rhs: [UInt8]) -> Bool {
    guard lhs.count == rhs.count else { return false }
    return lhs.withUnsafeBytes { a in rhs.withUnsafeBytes { b in a.isEmpty || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0 } }
}

/// Shared helpers: keys, deterministic data, sealing with small segments.
enum Fixtures {
    static let reference = KeyReference(provider: "managed", keyID: "kek-1", keyVersion: 2, accountKeyVersion: 1)

    static func accountKey(_ reference: KeyReference = reference) throws -> AccountKey {
        try AccountKey(key: SecretBytes(randomCount: 32), reference: reference)
    }

    /// `count` deterministic bytes, different for every seed: from
    /// `SplitMix` in the (optimised) test kit, as the test targets compile
    /// unoptimised (Package.swift) and the suites here make megabytes a step.
    static func data(_ count: Int, seed: UInt8 = 7) -> [UInt8] {
        var generator = SplitMix(seed: 0x9E37_0000 | UInt64(seed))
        return generator.bytes(count)
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
