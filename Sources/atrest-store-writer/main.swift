// atrest-store-writer: a test helper that writes objects to an ObjectStore in
// a loop until it is killed; used by the crash test (Tests/IntegrationTests/
// StorageCrashTests.swift), which SIGKILLs it mid-write.
//
// Usage: atrest-store-writer <directory> <seed> [small]
// `small`: 16 concurrent tasks put new 4 KiB objects (`small-<task>-<n>`),
// each reported once its put returned (acknowledged), for the group-commit
// crash test.
// The account key comes from ATREST_TEST_ACCOUNT_KEY_HEX (64 hex digits;
// test use only). Each object carries the SHA-256 of its data in user
// metadata "sha256", so a reader can prove it is complete.
import AtRestCrypto
import AtRestStorage
import Glibc

/// Unbuffered line to a descriptor (the process is SIGKILLed: nothing may sit in a buffer).
func say(_ line: String, to fd: Int32 = 1) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
}

func fail(_ message: String) -> Never {
    say("atrest-store-writer: \(message)", to: 2)
    exit(2)
}

// ATREST_FIPS=1 applies here too, before the first crypto call (docs/OPERATIONS-crypto.md).
do { try CryptoPolicy.applyFromEnvironment() } catch { fail("cannot start: \(error)") }

let args = CommandLine.arguments
guard args.count == 3 || (args.count == 4 && args[3] == "small"), let seed = UInt64(args[2]) else {
    fail("usage: atrest-store-writer <directory> <seed> [small]")
}
guard let keyHex = getenv("ATREST_TEST_ACCOUNT_KEY_HEX").map({ String(cString: $0) }), keyHex.utf8.count == 64,
      let keyBytes = Hex.decode(keyHex) else {
    fail("set ATREST_TEST_ACCOUNT_KEY_HEX to 64 hex digits")
}
let reference = KeyReference(provider: "test", keyID: "crash", keyVersion: 1, accountKeyVersion: 1)

do {
    let key = try AccountKey(key: SecretBytes(keyBytes), reference: reference)
    let store = try ObjectStore(directory: args[1])
    if (try? await store.createContainer(account: "crash", name: "c", accountKey: key)) == nil {
        _ = try await store.listContainers(account: "crash", accountKey: key)
    }
    var rng = SplitMix(seed)
    say("ready atrest-store-writer endpoint=\(args[1])")
    if args.count == 4 { try await SmallPuts.run(store: store, seed: seed, key: key) }
    var iteration = 0
    while true {
        iteration += 1
        let size = Int(rng.next() % (3 << 20)) + 1
        let data = try SecureRandom.bytes(size)
        let digest = try SHA256.hash(data)
        let hex = Hex.encode(digest)
        if iteration % 4 == 0 {
            let name = "blocks-\(rng.next() % 3)"
            let third = size / 3
            let parts = [Array(data[0..<third]), Array(data[third..<(2 * third)]), Array(data[(2 * third)...])]
            for (i, part) in parts.enumerated() {
                try await store.stageBlock(account: "crash", container: "c", name: name, blockID: [UInt8(i), UInt8(iteration & 0xff)], data: part, accountKey: key)
            }
            try await store.commitBlocks(account: "crash", container: "c", name: name, blockIDs: (0..<3).map { [UInt8($0), UInt8(iteration & 0xff)] },
                                   userMetadata: ["sha256": hex], accountKey: key)
            say("wrote \(name)")
        } else {
            let name = "object-\(rng.next() % 6)"
            // Fed in 50 000-byte pieces: the streaming path of the sealer.
            try await Pieces.put(data, pieceSize: 50_000, store: store, name: name, userMetadata: ["sha256": hex], contentHash: digest, key: key)
            say("wrote \(name)")
        }
    }
} catch {
    fail("\(error)")
}

/// Outside top-level code, whose closures are main-actor isolated: the feed
/// closure runs on whichever thread the store's put runs on.
enum Pieces {
    static func put(_ data: [UInt8], pieceSize: Int, store: ObjectStore, name: String, userMetadata: [String: String],
                    contentHash: [UInt8], key: AccountKey) async throws {
        try await store.put(account: "crash", container: "c", name: name, userMetadata: userMetadata, contentHash: contentHash,
                            accountKey: key, length: data.count) { append in
            try data.withUnsafeBytes { all in
                var offset = 0
                while offset < all.count {
                    let end = min(offset + pieceSize, all.count)
                    try append(UnsafeRawBufferPointer(rebasing: all[offset..<end]))
                    offset = end
                }
            }
        }
    }
}

/// 16 tasks putting new 4 KiB objects concurrently until the process is
/// killed; each name is printed only after its put returned.
enum SmallPuts {
    static func run(store: ObjectStore, seed: UInt64, key: AccountKey) async throws -> Never {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<16 {
                group.addTask {
                    var n = 0
                    while true {
                        let data = try SecureRandom.bytes(4096)
                        let name = "small-\(seed)-\(task)-\(n)"
                        try await store.put(account: "crash", container: "c", name: name, data: data,
                                            userMetadata: ["sha256": Hex.encode(try SHA256.hash(data))], accountKey: key)
                        say("wrote \(name)")
                        n += 1
                    }
                }
            }
            try await group.waitForAll()
        }
        fail("small puts stopped")
    }
}

/// Small deterministic generator (SplitMix64) so runs are reproducible by seed.
struct SplitMix {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
