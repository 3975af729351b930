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
