import ArgumentParser
import AtRestClient
import AtRestCrypto
import AtRestTesting
import AtRestWire
import Foundation

/// `atrest-bench scale` (issue 8): end-to-end put throughput of 1 MiB objects
/// with 1 and then 2 workers, the cluster's data on tmpfs so the disk is not
/// the limit, and the ratio (ideal near 2× on 2 cores when the front door is
/// not the bottleneck). Worker CPU seconds per GiB stored, from
/// /proc/<pid>/stat, against the CPU seconds per GiB of raw AES-256-GCM
/// measured in the same run; and where the CPU went (front door, workers,
/// this client, idle) so a ratio far from 2× can be explained.
struct ScaleBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale", abstract: "1 MiB put throughput with 1 and 2 workers on tmpfs; worker CPU/GiB vs raw AES-256-GCM.")

    @Option(help: "Seconds of puts per worker count.") var seconds = 8.0
    @Option(help: "Concurrent callers.") var callers = 8
    @Option(help: "Worker counts to measure, comma-separated.") var workers = "1,2"
    @Option(help: "tmpfs directory for the cluster's data.") var directory = "/dev/shm"
    @Flag(help: "Send each object's SHA-256 (BlobChecksum.perMessage: the client hashes, the worker verifies; costs CPU on the same cores).")
    var clientHash = false

    func run() async throws {
        let gib = Double(1 << 30)
        let raw = try RawGCMBench(size: 1 << 20)
        let rawRate = try BenchClock.throughput(seconds: 1.5, bytesPerIteration: 1 << 20) { try raw.seal() }
        // CPU time, not wall time: on a loaded machine the wall clock charges the cipher for others' work.
        let rawCPUPerGiB = try BenchClock.threadCPUPerGiB(bytesPerIteration: 1 << 20, iterations: 256) { try raw.seal() }
        print("scale bench: services from \(BenchCluster.binDirectory), data on \(directory), \(callers) callers, "
              + "\(seconds) s per worker count, \(ProcessInfo.processInfo.activeProcessorCount) cores")
        print("baseline raw AES-256-GCM seal (1 MiB buffers, 64 KiB calls, 1 thread): \(decimals(rawRate / 1_048_576, 0)) MiB/s "
              + "(best slice), \(decimals(rawCPUPerGiB, 3)) CPU s/GiB (thread CPU time)")

        let object = try SecureRandom.bytes(1 << 20)
        var first: Double?
        for count in workers.split(separator: ",").compactMap({ Int($0) }) {
            let (cluster, blobs) = try await BenchCluster.start(workers: count, root: LocalCluster.temporaryDirectory(under: directory, "scale"))
            defer { cluster.stop() }
            let hash = clientHash
            let hashing = BlobClient(blobs.base, account: blobs.account, options: BlobTransferOptions(checksum: .perMessage))
            let put: @Sendable (Int) async throws -> Void = { i in
                if hash {
                    _ = try await hashing.put("bench", "o\(i % 64)", data: object)
                } else {
                    var metadata = ["account": blobs.account]
                    metadata["authorization"] = blobs.base.bearerToken.map { "Bearer \($0)" }
                    _ = try await blobs.base.rpc.call(BlobMethod.put.name, request: BlobPutRequest(container: "bench", name: "o\(i % 64)"),
                                                      as: BlobProperties.self, payload: [object], timeout: .seconds(60), metadata: metadata)
                }
            }
            for i in 0..<(2 * callers) { try await put(i) }  // warm-up: key caches, connections, page cache
            let pids = (front: cluster.frontDoor.pid, workers: cluster.workerProcesses.map(\.pid), others: [cluster.identity.pid, cluster.vault.pid])
            let before = (front: ProcessCPU.seconds(pid: pids.front), workers: pids.workers.map(ProcessCPU.seconds(pid:)),
                          others: pids.others.map(ProcessCPU.seconds(pid:)).reduce(0, +), client: ProcessCPU.selfSeconds())
            let result = try await Latency.measure(seconds: seconds, callers: callers, put)
            let front = ProcessCPU.seconds(pid: pids.front) - before.front
            let perWorker = zip(pids.workers.map(ProcessCPU.seconds(pid:)), before.workers).map { $0 - $1 }
            let others = pids.others.map(ProcessCPU.seconds(pid:)).reduce(0, +) - before.others
            let client = ProcessCPU.selfSeconds() - before.client
            let workerCPU = perWorker.reduce(0, +)
            let bytes = Double(result.count) * Double(1 << 20)
            let rate = bytes / result.wall
            let perGiB = workerCPU / (bytes / gib)
            var line = "\(count) worker\(count == 1 ? "" : "s"): \(decimals(rate / 1_048_576, 1)) MiB/s put (1 MiB objects, n=\(result.count), "
                + "p50 \(decimals(result.p50 * 1000)) ms, p99 \(decimals(result.p99 * 1000)) ms)"
            if let first { line += "  ratio to 1 worker: \(decimals(rate / first))" } else { first = rate }
            print(line)
            let sumPerGiB = (front + workerCPU + client) / (bytes / gib)
            print("   worker CPU \(decimals(perGiB, 3)) s/GiB = \(decimals(perGiB / rawCPUPerGiB, 1))× raw AES-256-GCM; "
                  + "client + front door + workers \(decimals(sumPerGiB, 3)) s/GiB = \(decimals(sumPerGiB / rawCPUPerGiB, 1))× raw AES-256-GCM")
            func percent(_ cpu: Double) -> String { decimals(100 * cpu / result.wall, 0) + "%" }
            let idle = Double(ProcessInfo.processInfo.activeProcessorCount) * result.wall - front - workerCPU - others - client
            print("   CPU over the run: front door \(percent(front)), workers \(perWorker.map(percent).joined(separator: " + ")), "
                  + "client \(percent(client)), identity+vault \(percent(others)), left for the rest of the machine \(percent(idle))")
        }
        print("ideal 2-worker ratio on this 2-core machine is near 2×; when below, the CPU lines above show which process held the cores "
              + "(the client and front door share the same 2 cores, and other builds on a shared machine count as 'rest').")
    }
}
