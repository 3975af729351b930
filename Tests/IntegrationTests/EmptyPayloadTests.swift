import AtRestMessaging
import AtRestTesting
import AtRestWire
import Testing

/// docs/PROTOCOL.md "Byte-exact frame layout": empty content is zero payload
/// frames both ways; an empty payload frame is accepted and adds nothing.
@Suite(.serialized) struct EmptyPayloadTests {
    @Test func anEmptyBlobIsZeroPayloadFramesAndAnEmptyFrameIsAccepted() async throws {
        let cluster = try LocalCluster.deployCluster()
        defer { cluster.stop() }
        try cluster.addWorker("w0")
        try await cluster.waitForWorkers(["w0"])
        let metadata = try await cluster.bootstrap(accounts: ["empty"])["empty"]!
        for (name, payload) in [("none", [[UInt8]]()), ("one-empty-frame", [[UInt8]()])] {
            let put = try await cluster.client.call(BlobMethod.put.name, request: BlobPutRequest(container: "ops", name: name),
                                                    as: BlobProperties.self, payload: payload, metadata: metadata)
            #expect(put.message.length == 0, "\(name)")
            let got = try await cluster.client.call(BlobMethod.get.name, request: BlobGetRequest(container: "ops", name: name),
                                                    as: BlobGetResponse.self, metadata: metadata)
            #expect(got.parts.isEmpty, "\(name): the reply carries \(got.parts.count) payload frames")
        }
    }
}
