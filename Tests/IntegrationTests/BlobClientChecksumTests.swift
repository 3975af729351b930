import AtRestClient
import AtRestCrypto
import AtRestMessaging
import AtRestTesting
import AtRestWire
import Testing

/// `BlobClient`'s `BlobChecksum` modes against the real processes: what the
/// client sends and checks, what the service records, and which downloads
/// verify `content-sha256` (docs/DATA-PATH.md, "Content hashes").
@Suite(.serialized) struct BlobClientChecksumTests {
    /// 1 MiB blocks so a 3.5 MiB upload is five staged blocks (256 KiB first).
    static func options(_ checksum: BlobChecksum) -> BlobTransferOptions {
        BlobTransferOptions(singlePutThreshold: 1 << 20, blockSize: 1 << 20, rangeSize: 1 << 20, parallelism: 3, checksum: checksum)
    }

    @Test func checksumModes() async throws {
        let cluster = try LocalCluster.blobCluster()
        defer { cluster.stop() }
        _ = try await cluster.bootstrapUsers()
        let user = ServiceClient(rpc: cluster.client, token: try await cluster.token(tenant: "t1", "alice", "alice-secret-123456"),
                                 timeout: .seconds(30))
        _ = try await AccountClient(user).create("sums")
        func blobs(_ checksum: BlobChecksum) -> BlobClient { BlobClient(user, account: "sums", options: Self.options(checksum)) }
        try await blobs(.none).createContainer("box")

        let big = (0..<(7 << 19)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 11) }
        let small = Array(big[0..<100_000])
        // Blocks as BlobClient cuts them: a quarter block first, then whole blocks.
        let starts = [0] + Array(stride(from: 1 << 18, to: big.count, by: 1 << 20))
        let blockHashes = try starts.flatMap { try SHA256.hash(Array(big[$0..<min($0 == 0 ? 1 << 18 : $0 + (1 << 20), big.count)])) }
        let wholeHex = Hex.encode(try SHA256.hash(big))

        // .none: nothing hashed, nothing recorded; bytes intact.
        let plainBig = try await blobs(.none).upload("box", "none-big", data: big)
        let plainSmall = try await blobs(.none).upload("box", "none-small", data: small)
        #expect(plainBig.contentHash.isEmpty && plainSmall.contentHash.isEmpty)
        #expect(plainBig.metadata[BlobTransferOptions.contentHashKey] == nil)
        #expect(try await blobs(.none).download("box", "none-big") == big)

        // .perMessage: the service verified and records the hashes the client sent.
        let perBig = try await blobs(.perMessage).upload("box", "per-big", data: big)
        let perSmall = try await blobs(.perMessage).upload("box", "per-small", data: small)
        #expect(perBig.contentHash == (try SHA256.hash(blockHashes)), "a block list records the hash of its block hashes")
        #expect(perSmall.contentHash == (try SHA256.hash(small)))
        #expect(perBig.metadata[BlobTransferOptions.contentHashKey] == nil)
        #expect(try await blobs(.perMessage).download("box", "per-big") == big)

        // .wholeContent: content-sha256 stored and checked by downloads that hash.
        let whole = try await blobs(.wholeContent).upload("box", "whole", data: big)
        #expect(whole.metadata[BlobTransferOptions.contentHashKey] == wholeHex)
        #expect(whole.contentHash == perBig.contentHash)
        #expect(try await blobs(.wholeContent).download("box", "whole") == big)
        _ = try await blobs(.none).setMetadata("box", "whole", [BlobTransferOptions.contentHashKey: String(repeating: "0", count: 64)])
        do {
            _ = try await blobs(.perMessage).download("box", "whole")
            Issue.record("a download that hashes accepted content not matching content-sha256")
        } catch let status as RPCStatus {
            #expect(status.code == .dataLoss)
        }
        #expect(try await blobs(.none).download("box", "whole") == big, "checksum .none skips the check")
    }
}
