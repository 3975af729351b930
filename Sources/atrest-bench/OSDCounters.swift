import Foundation

/// Client ops the OSDs of a ceph-dev cluster served (`perf dump` over their
/// admin sockets: `osd.op_r`, `op_w`, `op_rw`, counted by the primary),
/// so `e2e --backend rados` can print the RADOS ops one AtRest put costs;
/// unlike a rate, that count does not depend on the machine's load.
struct OSDCounters {
    var reads = 0, writes = 0, readWrites = 0

    /// The counters summed over every OSD admin socket in `directory`/run.
    static func sample(_ directory: String) -> OSDCounters {
        let run = "\(directory)/run"
        var total = OSDCounters()
        for socket in ((try? FileManager.default.contentsOfDirectory(atPath: run)) ?? []) where socket.hasPrefix("osd.") && socket.hasSuffix(".asok") {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/ceph")
            process.arguments = ["--admin-daemon", "\(run)/\(socket)", "perf", "dump"]
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            guard (try? process.run()) != nil else { continue }
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let osd = json["osd"] as? [String: Any] else { continue }
            total.reads += osd["op_r"] as? Int ?? 0
            total.writes += osd["op_w"] as? Int ?? 0
            total.readWrites += osd["op_rw"] as? Int ?? 0
        }
        return total
    }

    static func - (a: OSDCounters, b: OSDCounters) -> OSDCounters {
        OSDCounters(reads: a.reads - b.reads, writes: a.writes - b.writes, readWrites: a.readWrites - b.readWrites)
    }

    static func + (a: OSDCounters, b: OSDCounters) -> OSDCounters {
        OSDCounters(reads: a.reads + b.reads, writes: a.writes + b.writes, readWrites: a.readWrites + b.readWrites)
    }

    /// "RADOS ops per put" since `before` for `count` puts.
    func line(since before: OSDCounters, count: Int) -> String { (self - before).line(count: count) }

    /// "RADOS ops per put" of these counts (a difference) for `count` puts.
    func line(count: Int) -> String {
        let n = Double(max(count, 1))
        return "   RADOS ops per put: \(decimals(Double(reads) / n, 1)) read, \(decimals(Double(writes) / n, 1)) write, "
            + "\(decimals(Double(readWrites) / n, 1)) read-write (cmp+write)"
    }
}
