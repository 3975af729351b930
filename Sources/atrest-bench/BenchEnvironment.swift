import ArgumentParser
import Foundation
import Glibc

/// What else the machine is doing when a bench starts (issue 19): every
/// figure on these 2 cores roughly halves when other work runs, so each
/// subcommand prints the load average and the CPU busy outside this process
/// over a short sample, and warns in one line when the machine is loaded
/// (load above 0.3 per core, or more than 0.3 of a core busy elsewhere).
/// Called once for every subcommand from `Bench.main`.
enum BenchEnvironment {
    static let loadPerCoreLimit = 0.3

    static func announce(sampleSeconds: Double = 0.5) {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?
            .split(separator: " ").prefix(3).compactMap { Double($0) } ?? []
        let busy = otherBusyCores(seconds: sampleSeconds)
        let loadText = load.map { decimals($0) }.joined(separator: " ")
        print("machine: \(cores) cores, load average \(loadText), \(decimals(busy)) cores busy outside this bench "
              + "(\(decimals(sampleSeconds, 1)) s sample)")
        let host = HostCosts.measure()
        print("host: a system call \(decimals(host.syscall * 1e6)) µs, a wake-up round trip between two threads "
              + "\(decimals(host.wakeRoundTrip * 1e6, 1)) µs (small calls cross about ten such hand-offs; compare small-call figures "
              + "only between hosts where these agree)")
        let perCore = (load.first ?? 0) / Double(max(cores, 1))
        if perCore > loadPerCoreLimit || busy > loadPerCoreLimit {
            print("WARNING: the machine is loaded (1-min load \(decimals(perCore)) per core, \(decimals(busy)) cores used by other processes): "
                  + "report these figures as loaded and compare only ratios measured within this run")
        }
    }

    /// Cores' worth of CPU spent by every other process over `seconds` (/proc/stat minus this process).
    static func otherBusyCores(seconds: Double) -> Double {
        func machineBusy() -> Double {
            guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
                  let line = stat.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return 0 }
            let fields = line.split(separator: " ").dropFirst().compactMap { Double($0) }
            guard fields.count >= 5 else { return 0 }
            // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
            return (fields.reduce(0, +) - fields[3] - fields[4]) / Double(sysconf(Int32(_SC_CLK_TCK)))
        }
        let start = BenchClock.now(), machine = machineBusy(), mine = ProcessCPU.selfSeconds()
        usleep(useconds_t(seconds * 1e6))
        let wall = BenchClock.now() - start
        let others = (machineBusy() - machine) - (ProcessCPU.selfSeconds() - mine)
        return max(0, others / max(wall, 1e-3))
    }
}

/// What this host charges for the two things a small call through AtRest
/// does most (docs/DATA-PATH.md "What bounds a small call"): entering the
/// kernel, and waking a thread that sleeps. Session 28 moved to a host (a
/// nested virtual machine) where a system call took 0.46 µs and a wake-up
/// round trip 20 µs, and every small-call figure fell to 35-50% of the
/// earlier host's while AES-GCM and the device stayed where they were, so
/// every bench prints both next to the load.
enum HostCosts {
    /// Seconds per `getppid` (a system call glibc does not cache), and per
    /// round trip of two threads passing a byte over two pipes.
    static func measure(calls: Int = 100_000, rounds: Int = 5_000) -> (syscall: Double, wakeRoundTrip: Double) {
        var start = BenchClock.now()
        for _ in 0..<calls { _ = getppid() }
        let syscall = (BenchClock.now() - start) / Double(calls)
        var ping: [Int32] = [0, 0], pong: [Int32] = [0, 0]
        guard pipe(&ping) == 0, pipe(&pong) == 0 else { return (syscall, .nan) }
        defer { for fd in ping + pong { close(fd) } }
        let (pingRead, pongWrite) = (ping[0], pong[1])
        let partner = Thread {
            var token: UInt8 = 0
            for _ in 0..<rounds {
                _ = read(pingRead, &token, 1)
                _ = write(pongWrite, &token, 1)
            }
        }
        partner.start()
        var token: UInt8 = 1
        start = BenchClock.now()
        for _ in 0..<rounds {
            _ = write(ping[1], &token, 1)
            _ = read(pong[0], &token, 1)
        }
        return (syscall, (BenchClock.now() - start) / Double(rounds))
    }
}

/// Peak resident memory (VmHWM) and current (VmRSS) of a process, in bytes, from /proc/PID/status.
enum ProcessMemory {
    static func peak(pid: Int32) -> Int { field("VmHWM", pid: pid) }
    static func resident(pid: Int32) -> Int { field("VmRSS", pid: pid) }

    private static func field(_ name: String, pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return 0 }
        let kib = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return kib << 10
    }
}
