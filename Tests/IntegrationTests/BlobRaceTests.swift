@testable import AtRestBackends
import AtRestClient
import AtRestCrypto
import AtRestMessaging
import AtRestStorage
import AtRestTesting
import AtRestWire
import Foundation
import Testing

/// Issue 14, "Races", at the AtRest level: client tasks overwrite and delete
/// the same 10 blob names for 3 s through the front door and two workers
/// (small puts, 5 MiB puts that RADOS stripes, block lists). Afterwards every
/// name is absent or one whole value some writer put (each value carries
/// its writer, its counter and the SHA-256 of its body); on RADOS, after
/// `RadosBackend.collectGarbage(olderThan: 0)`, every RADOS object is an
/// index, a head its container's index lists, or a stripe its head names,
/// and every index entry names a head or a child container that exists.
@Suite(.serialized) struct BlobRaceTests {
    static let names = (0..<10).map { "race-\($0)" }

    @Test(arguments: StorageUnderTest.allCases)
    func racingWritersLeaveWholeBlobsAndNoGarbage(storage: StorageUnderTest) async throws {
        try await ClusterOnStorage.with(storage, LocalCluster.blobClusterOptions) { on in
            let cluster = on.cluster
            _ = try await cluster.bootstrapUsers()
            let user = ServiceClient(rpc: cluster.client, token: try await cluster.token(tenant: "t1", "alice", "alice-secret-123456"),
                                     timeout: .seconds(60))
            _ = try await AccountClient(user).create("racers")
            // Up to 6 MiB in one put (a 5 MiB value is striped on RADOS); block lists of 256 KiB blocks.
            let single = BlobClient(user, account: "racers", options: BlobTransferOptions(singlePutThreshold: 6 << 20))
            let blocks = BlobClient(user, account: "racers", options: BlobTransferOptions(singlePutThreshold: 64 << 10, blockSize: 256 << 10,
                                                                                         parallelism: 3))
            try await single.createContainer("box")

            let deadline = ContinuousClock.now + .seconds(3)
            let lanes = try await withThrowingTaskGroup(of: [String: Int].self) { group in
                for writer in 0..<6 {
                    group.addTask {
                        var counts: [String: Int] = [:]
                        var counter = 0
                        while ContinuousClock.now < deadline {
                            counter += 1
                            let name = Self.names.randomElement()!
                            do {
                                switch counter % 8 {
                                case 0, 4:
                                    try await single.delete("box", name)
                                    counts["delete", default: 0] += 1
                                case 3:
                                    _ = try await blocks.upload("box", name, data: try Self.value(writer: writer, counter: counter, size: 700 << 10))
                                    counts["block list", default: 0] += 1
                                case 7 where writer < 2:
                                    _ = try await single.upload("box", name, data: try Self.value(writer: writer, counter: counter, size: 5 << 20))
                                    counts["5 MiB", default: 0] += 1
                                default:
                                    let size = 100 + (writer * 7_919 + counter * 104_729) % 100_000
                                    _ = try await single.put("box", name, data: try Self.value(writer: writer, counter: counter, size: size))
                                    counts["small", default: 0] += 1
                                }
                            } catch let status as RPCStatus where status.code == .notFound {
                                counts["not found", default: 0] += 1
                            }
                        }
                        return counts
                    }
                }
                return try await group.reduce(into: [String: Int]()) { $0.merge($1, uniquingKeysWith: +) }
            }
            for kind in ["small", "delete", "block list", "5 MiB"] {
                #expect(lanes[kind, default: 0] > 0, "no \(kind) call finished: \(lanes)")
            }

            var present: [String] = []
            for name in Self.names {
                do {
                    let bytes = try await single.download("box", name)
                    #expect(Self.isWhole(bytes), "\(name) is not one whole value a writer put (\(bytes.count) bytes)")
                    present.append(name)
                } catch let status as RPCStatus where status.code == .notFound {}
            }
            let listing = try await single.listAll("box")
            #expect(listing.blobs.map(\.name).sorted() == present, "the listing shows exactly the names that read back")
            #expect(listing.damagedCount == 0)

            guard let ceph = on.ceph else { return }
            let backend = try await RadosBackend.connect(ceph.configuration, pool: ceph.pool)
            _ = try await backend.collectGarbage(olderThan: .zero)
            try await Self.expectNothingUnreferenced(backend)
        }
    }

    /// Every RADOS object of the pool is an index, a head its index lists or
    /// a stripe its head names; every index entry names something that exists.
    static func expectNothingUnreferenced(_ backend: RadosBackend) async throws {
        let objects = try await backend.pool.objectNames()
        let indexes = Set(objects.compactMap { object -> String? in
            if case .index(let container) = RadosLayout.kind(of: object) { return container }
            return nil
        })
        var entries: [String: Set<String>] = [:]
        for id in indexes {
            let container = try BackendContainer(id)
            var continuation: String?
            repeat {
                let page = try await backend.list(container, prefix: "", continuation: continuation, limit: 1000)
                entries[id, default: []].formUnion(page.names)
                continuation = page.continuation
            } while continuation != nil
        }
        for object in objects {
            switch RadosLayout.kind(of: object) {
            case .index: break
            case .head(let container, let name):
                #expect(entries[container]?.contains(name) == true, "head \(object) is in no index")
            case .stripe(let head, let upload):
                #expect(try await backend.currentHead(head)?.record.upload == upload, "stripe \(object) is referenced by no head")
            case .foreign:
                Issue.record("unexpected RADOS object \(object)")
            }
        }
        let heads = Set(objects)
        for (id, names) in entries {
            for name in names {
                #expect(heads.contains("\(id)/\(name)") || indexes.contains("\(id)/\(name)"), "entry \(name) of \(id) names nothing")
            }
        }
    }

    /// writer (4 bytes) ‖ counter (4 bytes) ‖ SHA-256(body) ‖ body, the body
    /// derived from writer and counter.
    static func value(writer: Int, counter: Int, size: Int) throws -> [UInt8] {
        let body = body(writer: writer, counter: counter, size: size)
        return [UInt32(writer), UInt32(counter)].flatMap { number in (0..<4).map { UInt8(truncatingIfNeeded: number >> ($0 * 8)) } }
            + (try SHA256.hash(body)) + body
    }

    static func body(writer: Int, counter: Int, size: Int) -> [UInt8] {
        var state = UInt64(writer) << 32 | UInt64(counter) | 1
        var words = [UInt64](repeating: 0, count: (size + 7) / 8)
        for index in words.indices {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            words[index] = state
        }
        return words.withUnsafeBytes { Array($0.prefix(size)) }
    }

    static func isWhole(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 40 else { return false }
        func field(_ at: Int) -> Int { (0..<4).reduce(0) { $0 | Int(bytes[at + $1]) << ($1 * 8) } }
        let body = Array(bytes[40...])
        return (try? SHA256.hash(body)) == Array(bytes[8..<40]) && body == Self.body(writer: field(0), counter: field(4), size: body.count)
    }
}
