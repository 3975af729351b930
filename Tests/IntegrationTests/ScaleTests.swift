import AtRestMessaging
import AtRestWire
import AtRestTesting
import Foundation
import Testing

/// Workers join and leave while the cluster serves; a drained worker
/// (SIGTERM) finishes its calls and takes no new ones; workers run on
/// another network namespace (or loopback address) than the front door.
@Suite(.serialized) struct ScaleTests {
    /// Non-retryable puts (no idempotency key) in flight on a worker that is
    /// drained: none may fail, because draining finishes them.
    @Test func drainingWorkerFinishesItsCallsAndTakesNoNewOnes() async throws {
        let cluster = try LocalCluster.deployCluster()
        defer { cluster.stop() }
        let leaving = try cluster.addWorker("w-leaving", credit: 2)
        let accounts = try await cluster.bootstrap(accounts: ["acct-d"])
        let metadata = accounts["acct-d"]!
        let data = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        try await cluster.put("warm", data, metadata)

        let load = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<24 { group.addTask { try await cluster.put("d\(i)", data, metadata) } }
                try await group.waitForAll()
            }
        }
        // Drain once the leaving worker is busy; a second worker joins meanwhile.
        for _ in 0..<400 where try await cluster.status(cluster.frontDoor.endpoint).figure("in_flight") == 0 {
            try await Task.sleep(for: .milliseconds(5))
        }
        try cluster.addWorker("w-staying", credit: 2)
        leaving.signal(SIGTERM)
        try await load.value  // every call succeeds: none was abandoned
        #expect(leaving.waitForExit(timeout: .seconds(10)) == 0)
        try await cluster.waitForWorkers(["w-staying"])
        for i in 0..<24 { #expect(try await cluster.get("d\(i)", metadata) == data, "d\(i)") }
        let front = try await cluster.status(cluster.frontDoor.endpoint)
        #expect(front.figure("errors", label: "UNAVAILABLE") == 0)
    }

    /// Workers on another host as far as the network goes: a network
    /// namespace joined by a veth pair (10.x addresses only inside namespaces
    /// the test made) when `ip netns` works, else 127.0.0.2/127.0.0.3.
    @Test func workersOnOtherHostsJoinAndLeaveWhileServing() async throws {
        let net = TestNetwork.make()
        defer { net.remove() }
        let cluster = try LocalCluster.deployCluster(serviceHost: net.serviceHost)
        defer { cluster.stop() }
        try cluster.addWorker("w-a", launcher: net.workerLauncher(0), statusHost: net.workerHost(0))
        try await cluster.waitForWorkers(["w-a"])
        let accounts = try await cluster.bootstrap(accounts: ["acct-n"])
        let metadata = accounts["acct-n"]!
        var written: [String: [UInt8]] = [:]
        for round in 0..<3 {
            if round == 1 {
                let b = try cluster.addWorker("w-b", launcher: net.workerLauncher(1), statusHost: net.workerHost(1))
                try await cluster.waitForWorkers(["w-a", "w-b"])
                #expect(try await cluster.status(b.fields["status"] ?? "").instance == "w-b")
            }
            if round == 2 {
                #expect(cluster.workers["w-a"]!.terminate() == 0)
                try await cluster.waitForWorkers(["w-b"])
            }
            try await withThrowingTaskGroup(of: (String, [UInt8]).self) { group in
                for i in 0..<8 {
                    group.addTask {
                        let data = (0..<(64 << 10 + i)).map { UInt8(truncatingIfNeeded: $0 &+ round &* 7 &+ i) }
                        try await cluster.put("r\(round)-\(i)", data, metadata)
                        return ("r\(round)-\(i)", data)
                    }
                }
                for try await (name, data) in group { written[name] = data }
            }
        }
        for (name, data) in written { #expect(try await cluster.get(name, metadata) == data, "\(name)") }
        print("scale test network: \(net.description)")
    }
}

/// Several hosts on Ceph: the Ceph cluster, the identity service, the vault
/// and the front door on one "host", two workers each in its own network
/// namespace reaching the front door and the Ceph monitor and OSD over veth
/// addresses; a full round trip, then one worker killed while the other
/// serves. (CURVE is not on here: LocalCluster starts services without it;
/// scripts/run.sh covers CURVE on every link.)
@Suite(.serialized) struct MultiHostCephTests {
    @Test func workersInOtherNamespacesServeFromCeph() async throws {
        let net = TestNetwork.make()
        defer { net.remove() }
        try #require(!net.namespaces.isEmpty, "needs root and ip netns (this test is about other hosts)")
        let ceph = try CephDevCluster.start(host: net.serviceHost)
        defer { try? ceph.stop() }
        var options = LocalCluster.deployClusterOptions(serviceHost: net.serviceHost)
        options.storage = ceph.clusterStorage()
        let cluster = try LocalCluster(options)
        defer { cluster.stop() }
        try cluster.addWorker("w-a", launcher: net.workerLauncher(0), statusHost: net.workerHost(0))
        try cluster.addWorker("w-b", launcher: net.workerLauncher(1), statusHost: net.workerHost(1))
        try await cluster.waitForWorkers(["w-a", "w-b"])
        let metadata = try await cluster.bootstrap(accounts: ["acct-m"])["acct-m"]!
        var written: [String: [UInt8]] = [:]
        for round in 0..<2 {
            if round == 1 {
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
        print("multi-host test: \(net.description), Ceph monitor at \(net.serviceHost)")
    }
}

/// Where the test's services and workers live (see `ScaleTests`).
struct TestNetwork {
    var serviceHost = "127.0.0.1"
    var namespaces: [String] = []
    var description = "loopback addresses 127.0.0.1 (services), 127.0.0.2/127.0.0.3 (workers)"
    private var hostLinks: [String] = []
    private var subnet = 0

    func workerLauncher(_ index: Int) -> [String] {
        namespaces.isEmpty ? [] : ["/usr/sbin/ip", "netns", "exec", namespaces[index]]
    }

    func workerHost(_ index: Int) -> String {
        namespaces.isEmpty ? "127.0.0.\(2 + index)" : "10.213.\(subnet).\(index * 4 + 2)"
    }

    /// Two namespaces, each with a veth pair to the test's own /30 in the
    /// root namespace; services bind the root side of the first pair.
    static func make() -> TestNetwork {
        var net = TestNetwork()
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") else { return net }
        let tag = String(UInt32.random(in: 0..<0xFFFFFF), radix: 16)
        net.subnet = Int.random(in: 1...250)
        for index in 0..<2 {
            let ns = "atrest-\(tag)-\(index)"
            let host = "vh\(tag)\(index)", peer = "vn\(tag)\(index)"
            let base = index * 4
            let steps = [
                ["netns", "add", ns],
                ["link", "add", host, "type", "veth", "peer", "name", peer],
                ["link", "set", peer, "netns", ns],
                ["addr", "add", "10.213.\(net.subnet).\(base + 1)/30", "dev", host],
                ["link", "set", host, "up"],
                ["-n", ns, "addr", "add", "10.213.\(net.subnet).\(base + 2)/30", "dev", peer],
                ["-n", ns, "link", "set", peer, "up"],
                ["-n", ns, "link", "set", "lo", "up"],
            ]
            net.namespaces.append(ns)
            net.hostLinks.append(host)
            for step in steps where !ip(step) {
                net.remove()
                return TestNetwork()
            }
        }
        // Workers in namespace i reach the services through their own pair's
        // root address; services bind the first pair's root address, and
        // namespace 1 gets a route to it through its own pair.
        guard ip(["-n", net.namespaces[1], "route", "add", "10.213.\(net.subnet).1/32", "via", "10.213.\(net.subnet).5"]) else {
            net.remove()
            return TestNetwork()
        }
        net.serviceHost = "10.213.\(net.subnet).1"
        net.description = "network namespaces \(net.namespaces.joined(separator: ", ")) over veth pairs, services on \(net.serviceHost)"
        return net
    }

    func remove() {
        for link in hostLinks { _ = Self.ip(["link", "del", link]) }
        for ns in namespaces { _ = Self.ip(["netns", "del", ns]) }
    }

    @discardableResult
    static func ip(_ arguments: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }
}
