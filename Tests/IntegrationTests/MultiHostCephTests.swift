import AtRestMessaging
import AtRestTesting
import AtRestWire
import Foundation
import Testing

/// Three hosts on Ceph, as issue 14 draws them, with CURVE on every link:
/// the root network namespace is the Ceph + identity + vault host
/// (10.213.S.1), namespace 0 the front door's (clients reach it at
/// 10.213.S.2, workers at 10.213.S.9), namespace 1 the two workers' host,
/// reaching the front door over the pair between the namespaces and the Ceph
/// monitor and OSD, the identity and the vault over their own pair
/// (`TestNetwork`). A full round trip, then one worker killed while the other
/// serves; `ss` in each namespace shows every connection on the veth
/// addresses, and clients without the cluster's keys get nothing from the
/// front door.
@Suite(.serialized) struct MultiHostCephTests {
    @Test func threeHostsWithCurveServeFromCeph() async throws {
        let net = TestNetwork.make()
        defer { net.remove() }
        try #require(!net.namespaces.isEmpty, "needs root and ip netns (this test is about other hosts)")
        try #require(net.linkNamespaces(), "cannot link the front door's namespace to the workers'")
        let ceph = try CephDevCluster.start(host: net.serviceHost)
        defer { try? ceph.stop() }
        var options = LocalCluster.Options(rootTag: "multihost", serviceHost: net.serviceHost, workerCredit: 4)
        options.storage = ceph.clusterStorage()
        options.curve = true
        options.launchers[.frontDoor] = net.workerLauncher(0)
        options.frontDoorHost = net.workerHost(0)
        options.frontDoorWorkersHost = net.crossLinkHost
        let cluster = try LocalCluster(options)
        defer { cluster.stop() }
        #expect(cluster.frontDoor.endpoint.hasPrefix("tcp://\(net.workerHost(0)):"), "\(cluster.frontDoor.endpoint)")
        #expect(cluster.workersEndpoint.hasPrefix("tcp://\(net.crossLinkHost):"), "\(cluster.workersEndpoint)")
        try cluster.addWorker("w-a", launcher: net.workerLauncher(1))
        try cluster.addWorker("w-b", launcher: net.workerLauncher(1))
        try await cluster.waitForWorkers(["w-a", "w-b"])
        let metadata = try await cluster.bootstrap(accounts: ["acct-m"])["acct-m"]!
        var written: [String: [UInt8]] = [:]
        for round in 0..<2 {
            if round == 1 {
                try expectConnectionsOnVeth(net, cluster, ceph)
                cluster.killWorker("w-a")
                try await cluster.waitForWorkers(["w-b"])
            }
            for i in 0..<8 {
                let data = (0..<(300_000 + i)).map { UInt8(truncatingIfNeeded: $0 &* 5 &+ round &+ i) }
                try await cluster.put("m\(round)-\(i)", data, metadata)
                written["m\(round)-\(i)"] = data
            }
        }
        for (name, data) in written { #expect(try await cluster.get(name, metadata) == data, "\(name)") }
        try await expectCurveOnly(cluster)
        print("multi-host test: \(net.description); front door in \(net.namespaces[0]) at \(cluster.frontDoor.endpoint) "
              + "(workers: \(cluster.workersEndpoint)), workers in \(net.namespaces[1]), Ceph monitor at \(try ceph.monitorAddresses()), CURVE on")
    }

    /// Every established connection of the workers' and the front door's
    /// namespaces is on a veth address, and each link the test is about is there.
    private func expectConnectionsOnVeth(_ net: TestNetwork, _ cluster: LocalCluster, _ ceph: CephDevCluster) throws {
        let hostPort = { (endpoint: String) in String(endpoint.dropFirst("tcp://".count)) }
        let monitors = try ceph.monitorAddresses()
        let identity = hostPort(cluster.identity.endpoint), vault = hostPort(cluster.vaultEndpoint)
        let workerSide = hostPort(cluster.workersEndpoint), clientSide = hostPort(cluster.frontDoor.endpoint)

        let workers = Set(net.connections(in: 1).map(\.peer))
        for needed in [workerSide, identity, vault] {
            #expect(workers.contains(needed), "no connection from the workers' namespace to \(needed): \(workers.sorted())")
        }
        #expect(!workers.isDisjoint(with: monitors), "no connection from the workers' namespace to the monitor \(monitors)")
        let veth = [net.serviceHost + ":", net.crossLinkHost + ":"]
        #expect(workers.allSatisfy { peer in veth.contains { peer.hasPrefix($0) } }, "\(workers.sorted())")

        let front = net.connections(in: 0)
        for needed in [identity, vault] {
            #expect(front.contains { $0.peer == needed }, "no connection from the front door's namespace to \(needed)")
        }
        #expect(front.contains { monitors.contains($0.peer) }, "no connection from the front door's namespace to the monitor \(monitors)")
        #expect(front.contains { $0.local == clientSide && $0.peer.hasPrefix(net.serviceHost + ":") },
                "the test's client does not reach \(clientSide) over veth: \(front.map(\.local))")
        #expect(front.filter { $0.local.hasPrefix(net.crossLinkHost + ":") }.count >= 2, "two workers on \(workerSide)")
        print("ss: workers' namespace connects to \(workers.sorted()); front door's namespace: \(front.map { "\($0.local)<-\($0.peer)" }.sorted())")
    }

    /// The front door answers the cluster's CURVE client, and neither a plain
    /// client nor a CURVE client with a key not in its allow file.
    private func expectCurveOnly(_ cluster: LocalCluster) async throws {
        let endpoint = cluster.frontDoor.endpoint
        #expect(try await cluster.status(endpoint).instance.isEmpty == false)

        let plain = try RPCClient(endpoint: endpoint, configuration: RPCClientConfiguration(retry: .none))
        defer { plain.close() }
        let plainError = await #expect(throws: RPCStatus.self) {
            _ = try await plain.call(StatusMethod.get.name, request: StatusRequest(), as: StatusReply.self, timeout: .seconds(2))
        }
        #expect([.deadlineExceeded, .unavailable, .unauthenticated].contains(plainError?.code), "\(String(describing: plainError))")

        let curve = try #require(cluster.curve)
        let stranger = try RPCClient(endpoint: endpoint, configuration: RPCClientConfiguration(
            retry: .none, curve: CurveClientConfiguration(serverPublicKey: curve.frontDoorKey, keyPair: try CurveKeyPair.generate())))
        defer { stranger.close() }
        let strangerError = await #expect(throws: RPCStatus.self) {
            _ = try await stranger.call(StatusMethod.get.name, request: StatusRequest(), as: StatusReply.self, timeout: .seconds(10))
        }
        #expect(strangerError?.code == .unauthenticated, "\(String(describing: strangerError))")
    }
}
