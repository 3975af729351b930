import AtRestClient
import AtRestMessaging
import AtRestTesting
import AtRestWire
import Testing

/// `BlobClient.download` into a new array and `download(into:)` a caller's
/// buffer, against the real processes: the bytes come back exact, a buffer
/// too small is refused before anything is written, a larger one keeps its
/// bytes past the blob, a damaged `content-sha256` is still caught
/// (docs/DATA-PATH.md "Against the machine's limits").
@Suite(.serialized) struct BlobDownloadTests {
    @Test func downloadsIntoArraysAndBuffers() async throws {
        let cluster = try LocalCluster.blobCluster()
        defer { cluster.stop() }
        _ = try await cluster.bootstrapUsers()
        let user = ServiceClient(rpc: cluster.client, token: try await cluster.token(tenant: "t1", "alice", "alice-secret-123456"),
                                 timeout: .seconds(30))
        _ = try await AccountClient(user).create("loads")
        // 1 MiB ranges, 3 in flight: a 9.5 MiB blob is ten ranges, the last one short.
        let blobs = BlobClient(user, account: "loads", options: BlobTransferOptions(
            singlePutThreshold: 1 << 20, blockSize: 1 << 20, rangeSize: 1 << 20, parallelism: 3, checksum: .wholeContent))
        try await blobs.createContainer("box")
        let big = (0..<(19 << 19)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
        let small = Array(big[5..<70_005])
        _ = try await blobs.upload("box", "big", data: big)
        _ = try await blobs.upload("box", "small", data: small)
        _ = try await blobs.upload("box", "empty", data: [])

        // A new array.
        #expect(try await blobs.download("box", "big") == big)
        #expect(try await blobs.download("box", "small") == small)
        #expect(try await blobs.download("box", "empty") == [])

        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: big.count + 4096, alignment: 64)
        defer { buffer.deallocate() }
        // Exact size, then reused for a smaller blob: only its bytes change.
        buffer.initializeMemory(as: UInt8.self, repeating: 0xEE)
        let exact = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<big.count])
        #expect(try await blobs.download("box", "big", into: exact).length == UInt64(big.count))
        #expect(Array(exact) == big)
        #expect(buffer[big.count...].allSatisfy { $0 == 0xEE }, "nothing is written past the buffer given")
        #expect(try await blobs.download("box", "small", into: buffer).length == UInt64(small.count))
        #expect(Array(buffer[0..<small.count]) == small)
        #expect(Array(buffer[small.count..<big.count]) == Array(big[small.count...]), "bytes past the blob stay as they were")
        #expect(try await blobs.download("box", "empty", into: buffer).length == 0)

        // Too small by one byte: OUT_OF_RANGE, and not a byte written.
        buffer.initializeMemory(as: UInt8.self, repeating: 0x11)
        do {
            _ = try await blobs.download("box", "big", into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<(big.count - 1)]))
            Issue.record("a download into a buffer one byte too small succeeded")
        } catch let status as RPCStatus {
            #expect(status.code == .outOfRange)
            #expect(status.message.contains("\(big.count) bytes"))
        }
        #expect(buffer.allSatisfy { $0 == 0x11 })
        // A damaged content-sha256 is still caught when downloading into a buffer.
        _ = try await blobs.setMetadata("box", "small", [BlobTransferOptions.contentHashKey: String(repeating: "0", count: 64)])
        do {
            _ = try await blobs.download("box", "small", into: buffer)
            Issue.record("a download into a buffer accepted content not matching content-sha256")
        } catch let status as RPCStatus {
            #expect(status.code == .dataLoss)
        }
    }
}
