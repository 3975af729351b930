import AtRestClient
import Foundation
import Glibc
import Synchronization

/// Issue 19's small-object target, case `4k16` of `atrest-bench e2e` (and
/// the store alone, `atrest-bench storage-small`): 4 KiB puts with 16
/// concurrent callers against 16 plain writers on the same filesystem in the
/// same run, each writing a new file with write+fdatasync, in alternating
/// rounds; then 1 caller's p99. Targets: ≥ 1.0× the plain writers' ops/s
/// with p99 ≤ 10 ms; 1 caller p99 ≤ 1 ms.
enum SmallPuts {
    static let callers = 16
    static let size = 4096
    static let opsTarget = 1.0
    static let p99Target16 = 0.010
    static let p99Target1 = 0.001

    /// The load average, and a warning when other work runs (every figure
    /// roughly halves under load on 2 cores).
    static func loadLine() -> String {
        var loads = [Double](repeating: 0, count: 3)
        guard getloadavg(&loads, 3) == 3 else { return "load average ?" }
        let line = "load average \(loads.map { decimals($0) }.joined(separator: " "))"
        return loads[0] > 0.5 ? line + " — the machine is LOADED: compare only within this run" : line
    }

    /// One side measured in rounds: a name, and a put of call `i` in `round`
    /// (`prepare` runs before each of its rounds).
    struct Side: Sendable {
        var label: String
        var prepare: @Sendable () -> Void = {}
        var put: @Sendable (_ round: Int, _ i: Int) async throws -> Void
    }

    /// Alternating rounds of 16 plain writers, 16 plain writers that also
    /// make the names durable (the floor of a file per object), and each of
    /// `sides` with 16 callers; then 1 caller of the first side and one plain
    /// writer. Prints the lines with ratios and targets.
    static func compare(rounds: Int, seconds: Double, root: String, sides: [Side]) async throws {
        var plain: [Latency] = [], named: [Latency] = []
        var puts = [[Latency]](repeating: [], count: sides.count)
        for round in 0..<rounds {
            // Rotate which side goes first, so a drift of the disk hits all alike.
            let order = Array(0...(sides.count + 1))
            for step in order.indices {
                let side = order[(step + round) % order.count]
                switch side {
                case 0: plain.append(try PlainSmallWriters.measure(root: "\(root)/p\(round)", writers: callers, seconds: seconds))
                case 1: named.append(try PlainSmallWriters.measure(root: "\(root)/n\(round)", writers: callers, seconds: seconds, durableNames: true))
                default:
                    let s = sides[side - 2]
                    s.prepare()
                    puts[side - 2].append(try await Latency.measure(seconds: seconds, callers: callers) { i in try await s.put(round, i) })
                }
            }
        }
        let plain16 = Latency.merged(plain), named16 = Latency.merged(named)
        print(plain16.line("plain write+fdatasync 4 KiB, \(callers) writers", bytes: size) + "  (baseline; \(rounds) rounds, new file each)")
        print(named16.line("plain + rename + dir fsync, \(callers) writers", bytes: size)
              + "  ratio \(decimals(named16.opsPerSecond / plain16.opsPerSecond))  (durable names: the floor of a file per object)")
        for (side, rounds) in zip(sides, puts) {
            let put16 = Latency.merged(rounds)
            let ratio = put16.opsPerSecond / plain16.opsPerSecond
            print(put16.line("\(side.label) 4 KiB, \(callers) callers", bytes: size)
                  + "  ratio \(decimals(ratio)) target \(decimals(opsTarget)): \(ratio >= opsTarget ? "met" : "MISSED")"
                  + "  p99 target \(decimals(p99Target16 * 1000, 0)) ms: \(put16.p99 <= p99Target16 ? "met" : "MISSED")"
                  + "  vs durable names \(decimals(put16.opsPerSecond / named16.opsPerSecond))")
            print("   per round, put/plain ops/s: " + zip(rounds, plain).map { decimals($0.opsPerSecond / $1.opsPerSecond) }.joined(separator: " "))
        }
        let plain1 = try PlainSmallWriters.measure(root: "\(root)/p1", writers: 1, seconds: seconds)
        print(plain1.line("plain write+fdatasync 4 KiB, 1 writer", bytes: size))
        for side in sides {
            side.prepare()
            let one = try await Latency.measure(seconds: seconds, callers: 1) { i in try await side.put(rounds, i) }
            print(one.line("\(side.label) 4 KiB, 1 caller", bytes: size)
                  + "  ratio \(decimals(one.opsPerSecond / plain1.opsPerSecond))"
                  + "  p99 target \(decimals(p99Target1 * 1000, 0)) ms: \(one.p99 <= p99Target1 ? "met" : "MISSED")")
        }
    }
}

extension EndToEndBench {
    /// Case `4k16`: through the front door and the cluster's workers.
    static func smallPuts(_ blobs: BlobClient, root: String, workers: Int, seconds: Double, rounds: Int) async throws {
        print("4k16: \(SmallPuts.loadLine())")
        let data = Array(repeating: UInt8(0x5A), count: SmallPuts.size)
        let side = SmallPuts.Side(label: "put (\(workers) worker\(workers == 1 ? "" : "s"))") { round, i in
            _ = try await blobs.put("bench", "g\(round)-\(i)", data: data)
        }
        try await SmallPuts.compare(rounds: rounds, seconds: seconds, root: "\(root)/4k16-\(workers)w", sides: [side])
    }
}

/// `writers` threads, each writing new 4 KiB files (open O_CREAT, write,
/// fdatasync, close) in `root` for `seconds`: the best plain way to make
/// small files durable with that many writers (ext4 commits their journal
/// transactions together).
enum PlainSmallWriters {
    /// `durableNames`: each file is written under a temp name, fdatasynced,
    /// renamed and its directory fsynced (what a durable put must do at least).
    static func measure(root: String, writers: Int, seconds: Double, durableNames: Bool = false) throws -> Latency {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let record = [UInt8](repeating: 0x5A, count: SmallPuts.size)
        let results = Mutex<[[Double]]>([])
        let failed = Atomic<Int>(0)
        let start = BenchClock.now()
        let deadline = start + seconds
        let group = DispatchGroup()
        for writer in 0..<writers {
            group.enter()
            let thread = Thread {
                var mine: [Double] = []
                var i = 0
                while BenchClock.now() < deadline {
                    let t = BenchClock.now()
                    let path = "\(root)/w\(writer)-\(i)"
                    i += 1
                    let temp = durableNames ? path + ".tmp" : path
                    let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
                    guard fd >= 0 else { failed.add(1, ordering: .relaxed); break }
                    let n = record.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                    if n != record.count || fdatasync(fd) != 0 { failed.add(1, ordering: .relaxed) }
                    close(fd)
                    if durableNames {
                        let dir = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                        if rename(temp, path) != 0 || dir < 0 || fsync(dir) != 0 { failed.add(1, ordering: .relaxed) }
                        close(dir)
                    }
                    mine.append(BenchClock.now() - t)
                }
                results.withLock { $0.append(mine) }
                group.leave()
            }
            thread.start()
        }
        group.wait()
        let wall = BenchClock.now() - start
        guard failed.load(ordering: .relaxed) == 0 else { throw BenchError("plain small writes failed in \(root): errno \(errno)") }
        return Latency(samples: results.withLock { $0.flatMap { $0 } }, wall: wall)
    }
}

extension Latency {
    /// Rounds taken one after the other, as one measurement.
    static func merged(_ parts: [Latency]) -> Latency {
        Latency(samples: parts.flatMap(\.samples), wall: parts.map(\.wall).reduce(0, +))
    }
}
