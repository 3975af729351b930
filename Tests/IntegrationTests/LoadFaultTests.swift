import AtRestMessaging
import AtRestStatus
import AtRestWire
import AtRestTesting
import Foundation
import Synchronization
import Testing

/// Concurrent clients mixing 4 KiB and 1 MiB puts and gets across four
/// accounts while faults hit the cluster: SIGKILL one worker, SIGKILL and
/// restart the vault, SIGSTOP the front door for 5 s then SIGCONT. Afterwards
/// every acknowledged object reads back byte-exact, the only errors seen are
/// UNAVAILABLE/DEADLINE_EXCEEDED, and the cluster serves again by itself.
/// Bounded: ATREST_LOAD_SECONDS (default 18, at least 16), ATREST_LOAD_CLIENTS
/// (default 4); the issue's version is 60 s with 16 clients.
@Suite(.serialized) struct LoadFaultTests {
    struct Acknowledged: Sendable { var account: String; var name: String; var size: Int; var seed: UInt8 }

    /// What the clients saw, shared by their tasks.
    final class LoadLog: Sendable {
        let acknowledged = Mutex<[Acknowledged]>([])
        let expectedErrors = Mutex<[StatusCode: Int]>([:])
        let unexpected = Mutex<[String]>([])
    }

    static func content(size: Int, seed: UInt8) -> [UInt8] {
        (0..<size).map { UInt8(truncatingIfNeeded: ($0 >> 5) &* 31 &+ $0 &+ Int(seed)) }
    }

    @Test func acknowledgedObjectsSurviveWorkerVaultAndFrontDoorFaults() async throws {
        let environment = ProcessInfo.processInfo.environment
        let seconds = max(16, Int(environment["ATREST_LOAD_SECONDS"] ?? "") ?? 18)
        let clients = max(1, Int(environment["ATREST_LOAD_CLIENTS"] ?? "") ?? 4)
        let cluster = try LocalCluster.deployCluster()
        defer { cluster.stop() }
        let victim = try cluster.addWorker("w-victim")
        try cluster.addWorker("w-survivor")
        try await cluster.waitForWorkers(["w-victim", "w-survivor"])
        let accounts = try await cluster.bootstrap(accounts: ["load-a", "load-b", "load-c", "load-d"])
        let names = accounts.keys.sorted()

        let log = LoadLog()
        var peaks: [String: UInt64] = [:]
        let end = ContinuousClock.now + .seconds(seconds)

        let load = Task {
            await withTaskGroup(of: Void.self) { group in
                for client in 0..<clients {
                    group.addTask {
                        var mine: [Acknowledged] = []
                        var i = 0
                        while ContinuousClock.now < end {
                            i += 1
                            let account = names[(client + i) % names.count]
                            do {
                                if !mine.isEmpty, i % 3 == 0 {
                                    let pick = mine[(i * 7) % mine.count]
                                    let got = try await cluster.get(pick.name, accounts[pick.account]!, timeout: .seconds(5))
                                    if got != Self.content(size: pick.size, seed: pick.seed) {
                                        log.unexpected.withLock { $0.append("get \(pick.name): different bytes") }
                                    }
                                } else {
                                    let size = i % 4 == 0 ? 1 << 20 : 4096
                                    let entry = Acknowledged(account: account, name: "c\(client)-\(i)", size: size, seed: UInt8(truncatingIfNeeded: i &* 3 &+ client))
                                    try await cluster.put(entry.name, Self.content(size: size, seed: entry.seed), accounts[account]!,
                                                          idempotencyKey: entry.name, timeout: .seconds(5))
                                    mine.append(entry)
                                    log.acknowledged.withLock { $0.append(entry) }
                                }
                            } catch let status as RPCStatus where status.code == .unavailable || status.code == .deadlineExceeded {
                                log.expectedErrors.withLock { $0[status.code, default: 0] += 1 }
                            } catch {
                                log.unexpected.withLock { $0.append("\(error)") }
                            }
                        }
                    }
                }
            }
        }

        // Faults, spread over the first part of the run.
        try await Task.sleep(for: .seconds(3))
        peaks["atrest-worker w-victim"] = ProcessMemory.read(pid: "\(victim.pid)").peakKiB
        victim.kill()
        try await Task.sleep(for: .seconds(3))
        peaks["atrest-keyvault (before SIGKILL)"] = ProcessMemory.read(pid: "\(cluster.vault.pid)").peakKiB
        try cluster.restartVault()
        try await Task.sleep(for: .seconds(3))
        cluster.frontDoor.stop()
        try await Task.sleep(for: .seconds(5))
        cluster.frontDoor.resume()
        await load.value

        // The cluster serves again by itself: a put and get succeed (bounded retries while it settles).
        let probe = Self.content(size: 4096, seed: 99)
        var resumed = false
        for _ in 0..<40 where !resumed {
            do {
                try await cluster.put("probe", probe, accounts["load-a"]!, idempotencyKey: "probe", timeout: .seconds(3))
                resumed = try await cluster.get("probe", accounts["load-a"]!, timeout: .seconds(3)) == probe
            } catch {
                try await Task.sleep(for: .milliseconds(250))
            }
        }
        #expect(resumed, "the cluster did not serve again after the faults")

        let all = log.acknowledged.withLock { $0 }
        #expect(all.count > clients * 4, "too little load got through: \(all.count) puts")
        var lost: [String] = []
        for entry in all {
            let got = try? await cluster.get(entry.name, accounts[entry.account]!, timeout: .seconds(10))
            if got != Self.content(size: entry.size, seed: entry.seed) { lost.append(entry.name) }
        }
        #expect(lost.isEmpty, "acknowledged objects not read back byte-exact: \(lost.prefix(10))")
        #expect(log.unexpected.withLock { $0 }.isEmpty, "unexpected errors: \(log.unexpected.withLock { $0.prefix(10) })")

        for (label, process) in [("atrest-identity", cluster.identity), ("atrest-keyvault (restarted)", cluster.vault),
                                 ("atrest-frontdoor", cluster.frontDoor), ("atrest-worker w-survivor", cluster.workers["w-survivor"]!)] {
            peaks[label] = ProcessMemory.read(pid: "\(process.pid)").peakKiB
        }
        let bytes = all.reduce(0) { $0 + $1.size }
        print("load+faults: \(seconds) s, \(clients) clients, \(all.count) acknowledged puts (\(bytes >> 20) MiB), "
              + "expected errors \(log.expectedErrors.withLock { $0 }.map { "\($0.key)=\($0.value)" }.sorted()), all read back")
        for (label, kib) in peaks.sorted(by: { $0.key < $1.key }) { print("peak RSS (VmHWM) \(label): \(kib / 1024) MiB") }
    }
}
