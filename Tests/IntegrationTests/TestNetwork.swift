import AtRestTesting
import Foundation

/// Where a test's services and workers live (`ScaleTests`, `MultiHostCephTests`).
///
/// With root and `ip netns`: two network namespaces, each joined to the root
/// namespace by a veth pair on its own /30 of 10.213.S.0/24 (S random per
/// run): namespace i is 10.213.S.(4i+2), its root end 10.213.S.(4i+1).
/// Services bind 10.213.S.1, which namespace 1 reaches through its own pair
/// (a host route; the root namespace forwards nothing). `linkNamespaces`
/// adds a third pair between the namespaces (10.213.S.9 in namespace 0,
/// .10 in namespace 1). Without root: loopback addresses only.
///
/// If the test process dies before `remove` (a killed test), an
/// `ExitCleanup` kills what runs in the namespaces and deletes them and the links.
struct TestNetwork {
    var serviceHost = "127.0.0.1"
    var namespaces: [String] = []
    var description = "loopback addresses 127.0.0.1 (services), 127.0.0.2/127.0.0.3 (workers)"
    private(set) var subnet = 0
    private var hostLinks: [String] = []
    private var cleanup: ExitCleanup?

    func workerLauncher(_ index: Int) -> [String] {
        namespaces.isEmpty ? [] : ["/usr/sbin/ip", "netns", "exec", namespaces[index]]
    }

    func workerHost(_ index: Int) -> String {
        namespaces.isEmpty ? "127.0.0.\(2 + index)" : "10.213.\(subnet).\(index * 4 + 2)"
    }

    /// The address of namespace 0 on the pair between the namespaces (`linkNamespaces`).
    var crossLinkHost: String { "10.213.\(subnet).9" }

    static func make() -> TestNetwork {
        var net = TestNetwork()
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") else { return net }
        let tag = String(UInt32.random(in: 0..<0xFFFFFF), radix: 16)
        net.subnet = Int.random(in: 1...250)
        let names = (0..<2).map { "atrest-\(tag)-\($0)" }
        net.cleanup = try? ExitCleanup(names.flatMap { ns in
            [["/bin/sh", "-c", "/usr/sbin/ip netns pids \(ns) | xargs -r kill -9"], ["/usr/sbin/ip", "netns", "del", ns]]
        } + (0..<2).map { ["/usr/sbin/ip", "link", "del", "vh\(tag)\($0)"] })
        guard net.cleanup != nil else { return TestNetwork() }
        for index in 0..<2 {
            let ns = names[index]
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
        guard ip(["-n", net.namespaces[1], "route", "add", "10.213.\(net.subnet).1/32", "via", "10.213.\(net.subnet).5"]) else {
            net.remove()
            return TestNetwork()
        }
        net.serviceHost = "10.213.\(net.subnet).1"
        net.description = "network namespaces \(net.namespaces.joined(separator: ", ")) over veth pairs, services on \(net.serviceHost)"
        return net
    }

    /// A veth pair between the two namespaces: 10.213.S.9 (namespace 0) – 10.213.S.10 (namespace 1).
    func linkNamespaces() -> Bool {
        guard namespaces.count == 2 else { return false }
        let a = "xa\(namespaces[0].suffix(8))", b = "xb\(namespaces[0].suffix(8))"
        return [
            ["-n", namespaces[0], "link", "add", a, "type", "veth", "peer", "name", b, "netns", namespaces[1]],
            ["-n", namespaces[0], "addr", "add", "10.213.\(subnet).9/30", "dev", a],
            ["-n", namespaces[0], "link", "set", a, "up"],
            ["-n", namespaces[1], "addr", "add", "10.213.\(subnet).10/30", "dev", b],
            ["-n", namespaces[1], "link", "set", b, "up"],
        ].allSatisfy { Self.ip($0) }
    }

    /// The established TCP connections in namespace `index` (nil: the root
    /// namespace) as (local, peer) "address:port" pairs, from `ss`.
    func connections(in index: Int?) -> [(local: String, peer: String)] {
        let prefix = index.map { ["/usr/sbin/ip", "netns", "exec", namespaces[$0]] } ?? []
        guard let (status, output) = try? CephDevScript.run(Array(prefix.dropFirst()) + ["/usr/bin/ss", "-Htn", "state", "established"],
                                                            executable: prefix.first ?? "/usr/bin/ss"),
              status == 0 else { return [] }
        return output.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 4 else { return nil }
            return (String(fields[2]), String(fields[3]))
        }
    }

    func remove() {
        for ns in namespaces { _ = Self.ip(["netns", "del", ns]) }
        for link in hostLinks { _ = Self.ip(["link", "del", link]) }
        cleanup?.dismiss()
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
