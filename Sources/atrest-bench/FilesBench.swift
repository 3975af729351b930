import ArgumentParser
import AtRestClient
import AtRestTesting
import Foundation
import Glibc

/// `atrest-bench files` (issue 18's benchmark): the same jobs on a local
/// directory, through `atrest-fuse-passthrough` over another directory of
/// the same file system, and through `atrest mount` of a share on a local
/// cluster (release services, data on the same file system) — sequential
/// write (fsynced) and read of one large file in 1 MiB calls, creating many
/// small files, and `rsync -a` of a generated tree into each — in the same
/// run, with AtRest's ratio to the passthrough (targets: sequential ≥ 0.5,
/// small-file creates ≥ 0.25). docs/BENCHMARKS.md "Files".
///
/// The file is read twice: cold, after the machine's page cache is dropped
/// (`FileJobs.dropCaches`), then warm, at once again. Reading only right
/// after the write compared unlike things: the directory and the
/// passthrough wrote through the page cache and read from it, while the
/// store writes extents with `O_DIRECT` and read them from the device.
struct FilesBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "files",
        abstract: "Sequential write/read, small-file creates and rsync: atrest mount vs atrest-fuse-passthrough vs a local directory.")

    @Option(name: .customLong("size-mib"), help: "Size of the sequential file, MiB.") var sizeMiB = 256
    @Option(help: "Small files created per round.") var files = 10_000
    @Option(help: "Bytes written to each small file.") var fileBytes = 4096
    @Option(help: "Files of the tree copied with rsync -a (sizes 0 B - 256 KiB, log-uniform).") var treeFiles = 1000
    @Option(help: "Rounds (each runs every job on every target; the best round is reported).") var rounds = 1
    @Option(help: "Crypto workers of the local cluster.") var workers = 2
    @Flag(inversion: .prefixedNo, help: "Both FUSE mounts let the kernel keep an unchanged file's pages from one open to the next (the warm read).")
    var kernelCache = true
    @Option(help: "The mount's --listing-timeout (seconds a directory's listing answers lookups of missing names; 0: off).")
    var listingTimeout = 1.0
    @Option(help: "Parent directory of the scratch directories (one file system for all targets).")
    var directory = NSTemporaryDirectory()

    func validate() throws {
        guard (1...65_536).contains(sizeMiB) else { throw ValidationError("--size-mib must be 1-65536") }
        guard (1...1_000_000).contains(files) else { throw ValidationError("--files must be 1-1000000") }
        guard (0...(1 << 20)).contains(fileBytes) else { throw ValidationError("--file-bytes must be 0-1048576") }
        guard (1...100_000).contains(treeFiles) else { throw ValidationError("--tree-files must be 1-100000") }
        guard (1...20).contains(rounds) else { throw ValidationError("--rounds must be 1-20") }
        guard (1...16).contains(workers) else { throw ValidationError("--workers must be 1-16") }
        guard (0...60).contains(listingTimeout) else { throw ValidationError("--listing-timeout must be 0-60") }
    }

    func run() async throws {
        let scratch = LocalCluster.temporaryDirectory(under: directory, "files")
        let plain = scratch + "/plain", source = scratch + "/src", passthroughMount = scratch + "/mnt-pt", shareMount = scratch + "/mnt-atrest"
        let tree = scratch + "/tree"
        for path in [plain, source, passthroughMount, shareMount] { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        let cleanup = try ExitCleanup([["sleep", "1"], ["umount", "-l", passthroughMount], ["umount", "-l", shareMount], ["rm", "-rf", scratch]])
        defer {
            try? FileManager.default.removeItem(atPath: scratch)
            cleanup.dismiss()
        }
        let treeBytes = try Self.generateTree(at: tree, files: treeFiles)
        let (cluster, blobs) = try await BenchCluster.start(workers: workers, root: "\(scratch)/cluster")
        defer { cluster.stop() }
        try await FileClient(blobs.base, account: "bench").createShare("bench-files", quota: 1 << 40)
        let passthrough = try ServiceProcess(BenchCluster.binDirectory + "/atrest-fuse-passthrough",
                                             [source, passthroughMount] + (kernelCache ? ["--kernel-cache"] : []))
        defer { _ = passthrough.terminate() }
        let mount = try ServiceProcess(BenchCluster.binDirectory + "/atrest", [
            "mount", "bench/bench-files", shareMount, "--endpoint", cluster.frontDoor.endpoint,
            "--tenant", BenchCluster.tenant, "--user", BenchCluster.user, "--listing-timeout", "\(listingTimeout)",
        ] + (kernelCache ? [] : ["--no-kernel-cache"]), environment: ["ATREST_SECRET": BenchCluster.secret, "ATREST_CONFIG": "\(scratch)/no-config.json"])
        defer { _ = mount.terminate(timeout: .seconds(60)) }
        print("files bench: \(ProcessInfo.processInfo.activeProcessorCount) cores, \(workers) workers; \(sizeMiB) MiB sequential, "
              + "\(files) files of \(fileBytes) B, rsync of \(treeFiles) files (\(treeBytes >> 20) MiB), \(rounds) round(s) (best); "
              + "kernel page cache across opens \(kernelCache ? "on" : "off") for both mounts; listing timeout \(listingTimeout) s")
        let targets = [("local directory", plain), ("passthrough", passthroughMount), ("atrest mount", shareMount)]
        let names = ["sequential write (fsync), MiB/s", "sequential read cold, MiB/s", "sequential read warm, MiB/s", "small-file creates, files/s",
                     "rsync -a of the tree, files/s"]
        var best: [String: [String: Double]] = [:]  // job → target → rate
        let jobs = FileJobs(sizeMiB: sizeMiB, files: files, fileBytes: fileBytes)
        for round in 1...rounds {
            for (label, path) in targets {
                let write = try jobs.sequentialWrite(path + "/seq")
                try FileJobs.dropCaches()
                let cold = try jobs.sequentialRead(path + "/seq")
                let warm = try jobs.sequentialRead(path + "/seq")
                try FileManager.default.removeItem(atPath: path + "/seq")
                let creates = try jobs.createFiles(path + "/small-\(round)")
                let start = BenchClock.now()
                _ = try await BenchChild.output("/usr/bin/rsync", ["-a", tree + "/", path + "/tree-\(round)/"], directory: scratch, cleanup: cleanup)
                let copied = Double(treeFiles) / (BenchClock.now() - start)
                _ = try await BenchChild.output("/bin/rm", ["-rf", path + "/small-\(round)", path + "/tree-\(round)"], directory: scratch, cleanup: cleanup)
                for (job, rate) in zip(names, [write, cold, warm, creates, copied]) {
                    best[job, default: [:]][label] = max(best[job]?[label] ?? 0, rate)
                }
                print("round \(round) \(label): " + zip(names, [write, cold, warm, creates, copied]).map { "\($0.0.split(separator: ",")[0]) \(String(format: "%.1f", $0.1))" }
                    .joined(separator: "; "))
                fflush(nil)
            }
        }
        print("job".padding(toLength: 36, withPad: " ", startingAt: 0) + "  local dir  passthrough  atrest mount  atrest/passthrough")
        for job in names {
            let local = best[job]?["local directory"] ?? 0, fuse = best[job]?["passthrough"] ?? 0, atrest = best[job]?["atrest mount"] ?? 0
            print(job.padding(toLength: 36, withPad: " ", startingAt: 0)
                  + String(format: "  %9.1f  %11.1f  %12.1f  %18.2f", local, fuse, atrest, fuse > 0 ? atrest / fuse : 0))
        }
        fflush(nil)
    }

    /// `count` files in 20 directories two levels deep, sizes 0 B – 256 KiB log-uniform; returns their bytes.
    static func generateTree(at root: String, files count: Int) throws -> Int {
        var random = SplitMix(seed: 0xB3_7C_F1_1E)
        var total = 0
        for index in 0..<count {
            let directory = "\(root)/d\(index % 4)/e\(index % 20)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let size = Int(exp2(Double(random.next() % 1_000_000) / 1_000_000 * 18)) - 1
            guard FileManager.default.createFile(atPath: "\(directory)/f\(index)", contents: Data(random.bytes(size))) else {
                throw FileJobs.Failure(description: "cannot write the tree under \(root)")
            }
            total += size
        }
        return total
    }
}
