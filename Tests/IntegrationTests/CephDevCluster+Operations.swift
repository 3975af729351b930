import AtRestTesting
import Testing

/// What the replica and bad-case tests do to a running ceph-dev cluster
/// through the script: another cephx user, one OSD stopped and started again.
extension CephDevCluster {
    /// `ceph-dev.sh user`: creates client.`name` with `capabilities` (service, capability pairs); returns its keyring path.
    func user(_ name: String, _ capabilities: [String]) throws -> String {
        try runScript(["user", directory, name] + capabilities).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `ceph-dev.sh stop-osd`: returns once osd.`id` is gone and the monitor has it down.
    func stopOSD(_ id: Int) throws { _ = try runScript(["stop-osd", directory, String(id)]) }

    /// `ceph-dev.sh start-osd`: returns once the monitor has osd.`id` up again.
    func startOSD(_ id: Int) throws { _ = try runScript(["start-osd", directory, String(id)]) }

    /// Runs the script on this cluster; its output, or an error with the output and exit status.
    private func runScript(_ arguments: [String]) throws -> String {
        let (status, output) = try Self.run(arguments)
        guard status == 0 else { throw CephDevError(message: "scripts/ceph-dev.sh \(arguments.joined(separator: " ")) failed (exit \(status)):\n\(output)") }
        return output
    }
}

extension CephDevCluster {
    /// The monitor's addresses ("host:port", msgr2 then msgr1) from `mon host` in the cluster's ceph.conf.
    func monitorAddresses() throws -> [String] {
        let conf = try String(contentsOfFile: confFile, encoding: .utf8)
        let line = try #require(conf.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix("mon host") })
        return line.split(separator: "[").last!.split(separator: "]").first!.split(separator: ",").compactMap { part in
            part.split(separator: ":", maxSplits: 1).last.map(String.init)
        }
    }
}
