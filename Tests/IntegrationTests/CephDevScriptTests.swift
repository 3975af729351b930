import Foundation
import Testing
import AtRestRados
import AtRestTesting

/// scripts/ceph-dev.sh itself: two clusters side by side on different monitor
/// ports, each serving its own pool, and `stop` leaving no daemon running.
@Suite(.serialized) struct CephDevScriptTests {
    @Test func twoClustersSideBySideThenStopLeavesNothingRunning() async throws {
        async let first = Task.detached { try CephDevCluster.start(pool: "one") }.value
        async let second = Task.detached { try CephDevCluster.start(pool: "two") }.value
        let clusters = try await [first, second]
        defer { for cluster in clusters { try? cluster.stop() } }

        let monitors = try clusters.map { try String(contentsOfFile: $0.confFile, encoding: .utf8).split(separator: "\n").first { $0.hasPrefix("mon host") } }
        #expect(monitors[0] != nil && monitors[0] != monitors[1], "distinct monitor addresses: \(monitors)")
        // Below the ephemeral range, where an outgoing connection could take the port before the monitor binds it.
        let range = try String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8).split(whereSeparator: \.isWhitespace)
        let ephemeral = try #require(range.first.flatMap { Int($0) })
        for line in monitors.compactMap({ $0 }) {
            let ports = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }.filter { $0 > 1000 }
            #expect(ports.count == 2 && ports.allSatisfy { $0 < ephemeral }, "\(line) vs ephemeral ports from \(ephemeral)")
        }
        for cluster in clusters {
            let pool = try RadosCluster(cluster.configuration).openPool(cluster.pool)
            try await pool.writeFull("side-by-side", Array(cluster.pool.utf8))
            #expect(try await pool.read("side-by-side", length: 10) == Array(cluster.pool.utf8))
        }
        // A one-OSD cluster's OSD runs with a read lease no pause outlasts
        // (ceph-dev.sh "Read leases": Ceph 16.2 wedges a one-OSD PG paused
        // past its lease); an option name the OSD does not know would leave
        // the 16 s default.
        for cluster in clusters {
            #expect(try Self.osdSetting("osd_pool_default_read_lease_ratio", cluster) * Self.osdSetting("osd_heartbeat_grace", cluster) >= 86_400)
        }
        // client.atrest of the first cluster may not touch the second's pool name there (it does not exist).
        #expect(throws: RadosError.self) { _ = try RadosCluster(clusters[0].configuration).openPool("two") }

        for cluster in clusters {
            let pids = try String(contentsOfFile: cluster.directory + "/pids", encoding: .utf8)
                .split(separator: "\n").compactMap { $0.split(separator: " ").last.flatMap { Int32($0) } }
            #expect(pids.count == 2)
            try cluster.stop()
            for pid in pids {
                #expect(!Self.isRunning(pid), "daemon \(pid) still running after stop")
            }
        }
    }

    /// The running osd.0's value of `option`, through its admin socket.
    static func osdSetting(_ option: String, _ cluster: CephDevCluster) throws -> Double {
        let (status, output) = try CephDevCluster.run(["--admin-daemon", cluster.directory + "/run/osd.0.asok", "config", "get", option],
                                                      executable: "/usr/bin/ceph")
        // {"osd_heartbeat_grace": "20"}
        let value = output.split(separator: "\"").dropLast().last.flatMap { Double($0) }
        return try #require(status == 0 ? value : nil, "config get \(option): \(output)")
    }

    /// A daemon that dies during start: exit 1, the daemon named with its log
    /// tail, and nothing of the cluster left running.
    @Test func aDaemonDyingAtStartIsNamedAndEverythingIsStopped() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("atrest-ceph-fail-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let bin = root + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        // ceph-osd makes its file system, then the daemon itself crashes.
        try "#!/bin/sh\ncase \"$*\" in *--mkfs*) exec /usr/bin/ceph-osd \"$@\";; esac\necho 'osd crashed on purpose' >&2\nexit 1\n"
            .write(toFile: bin + "/ceph-osd", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: bin + "/ceph-osd")
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = bin + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        let dir = root + "/cluster"
        let started = ContinuousClock.now
        let (status, output) = try CephDevCluster.run(["start", dir], environment: environment)
        #expect(status == 1, "\(output)")
        #expect(output.contains("exited: osd.0"), "\(output)")
        #expect(output.contains("osd crashed on purpose"), "the daemon's own output is shown: \(output)")
        #expect(ContinuousClock.now - started < .seconds(30), "failed fast, not at the probe's 60 s timeout")
        #expect(Self.processes(mentioning: dir) == [], "the monitor was stopped")
        #expect(!FileManager.default.fileExists(atPath: dir + "/pids"))
    }

    /// Live processes whose command line mentions `text`.
    static func processes(mentioning text: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard isRunning(pid), let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return String(decoding: data, as: UTF8.self).contains(text)
        }
    }

    /// Running unless /proc shows no such process, a zombie or a dead one.
    static func isRunning(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(close, offsetBy: 2)...].prefix(1)
        return state != "Z" && state != "X"
    }
}
