import AtRestMessaging
import AtRestTesting
import AtRestWire
import Foundation
import Testing

/// Ceph going away under a running cluster: with the only OSD frozen
/// (SIGSTOP: it neither answers nor closes its connections, the worst case
/// for a client), blob calls answer UNAVAILABLE (retryable; "storage
/// unavailable") within the Ceph timeout (`--ceph-timeout 3`: a put answered
/// after 6 s here, after 20 s at the default 10 s) instead of hanging or
/// failing as INTERNAL, the worker stays up, and once the OSD runs again
/// everything acknowledged before reads back and new puts work.
@Suite(.serialized) struct CephOutageTests {
    /// What the services of these tests wait for Ceph (`--ceph-timeout`).
    static let timeout = ["--ceph-timeout", "3"]

    @Test func callsAnswerUnavailableWhileCephIsDownAndRecoverAfter() async throws {
        let ceph = try CephDevCluster.start()
        defer { try? ceph.stop() }
        var options = LocalCluster.Options(rootTag: "outage", workers: 1, extraArguments: [.worker: Self.timeout, .frontDoor: Self.timeout])
        options.storage = ceph.clusterStorage()
        let cluster = try LocalCluster(options)
        defer { cluster.stop() }
        let (alice, _) = try await cluster.bootstrapUsers()
        let c = cluster.client
        _ = try await c.call(AccountMethod.create.name, request: AccountCreateRequest(accountID: "outage"), as: AccountInfo.self, metadata: alice)
        let m = alice.merging(["account": "outage"]) { $1 }
        _ = try await c.call(BlobMethod.createContainer.name, request: ContainerRequest(container: "box"), as: EmptyMessage.self, metadata: m)
        let before = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 3) }
        _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "box", name: "before"), as: BlobProperties.self,
                             payload: [before], metadata: m)

        let osd = try Self.pid(of: "osd.0", in: ceph)
        kill(osd, SIGSTOP)
        defer { kill(osd, SIGCONT) }
        let started = ContinuousClock.now
        await expectCode(.unavailable, contains: "storage unavailable") {
            _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "box", name: "during"), as: BlobProperties.self,
                                 payload: [[1, 2, 3]], timeout: .seconds(60), metadata: m)
        }
        let waited = ContinuousClock.now - started
        #expect(waited < .seconds(15), "the put answered after \(waited) (20 s at the default timeout)")
        await expectCode(.unavailable, contains: "Ceph did not answer") {
            _ = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "box", name: "before"), as: BlobGetResponse.self,
                                 timeout: .seconds(60), metadata: m)
        }
        #expect(cluster.workers["w0"]?.isRunning == true, "the worker stays up")

        // Serving again can take more than one Ceph op timeout after
        // SIGCONT (the OSD catches up first): the window spans several.
        // The claim is "recovers", not "how fast".
        // (Issue 14: with the default lease, Ceph 16.2 left a PG of a
        // one-OSD cluster laggy for good when an op reached it before the
        // lease renewal after SIGCONT, so the worker's reads timed out for
        // over 90 s while the front door's, on other PGs, recovered;
        // ceph-dev.sh now gives a one-OSD cluster a lease no pause outlasts.)
        kill(osd, SIGCONT)
        let resumed = ContinuousClock.now
        try await eventually(within: .seconds(90)) {
            let got = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "box", name: "before"), as: BlobGetResponse.self,
                                       timeout: .seconds(30), metadata: m)
            guard got.payload.flatMap({ $0 }) == before else { throw RPCStatus(.dataLoss, "'before' read back different bytes") }
        }
        _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "box", name: "after"), as: BlobProperties.self,
                             payload: [[7]], timeout: .seconds(30), metadata: m)
        print("Ceph outage: the put answered UNAVAILABLE after \(waited); served again \(ContinuousClock.now - resumed) after SIGCONT")
    }

    /// The pid ceph-dev.sh recorded for `daemon` (DIR/pids: "name pid" lines).
    static func pid(of daemon: String, in ceph: CephDevCluster) throws -> pid_t {
        let lines = try String(contentsOfFile: ceph.directory + "/pids", encoding: .utf8).split(separator: "\n")
        let line = try #require(lines.first { $0.hasPrefix(daemon + " ") }, "no \(daemon) in \(ceph.directory)/pids")
        return try #require(pid_t(line.split(separator: " ")[1]))
    }
}
