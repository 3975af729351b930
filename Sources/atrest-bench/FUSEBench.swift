import ArgumentParser
import AtRestTesting
import Foundation
import Glibc

/// `atrest-bench fuse` (issue 18's baseline): the same jobs on a local
/// directory and through `atrest-fuse-passthrough` mounted over another
/// directory of the same file system — sequential write (fsynced) and read
/// of one large file in 1 MiB calls, and creating many small files — in
/// alternating rounds (best round reported), with the passthrough's ratio to
/// the directory. The passthrough is the ceiling of any FUSE file system
/// here; the AtRest mount will be compared with it. docs/BENCHMARKS.md "FUSE passthrough".
struct FUSEBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fuse",
        abstract: "Sequential write/read and small-file creates: a local directory vs atrest-fuse-passthrough over one.")

    @Option(name: .customLong("size-mib"), help: "Size of the sequential file, MiB.") var sizeMiB = 256
    @Option(help: "Small files created per round.") var files = 10_000
    @Option(help: "Bytes written to each small file.") var fileBytes = 4096
    @Option(help: "Rounds (each runs every job on both targets; the best round is reported).") var rounds = 3
    @Option(help: "Parent directory of the scratch directories (one file system for both targets).")
    var directory = NSTemporaryDirectory()

    func validate() throws {
        guard (1...65_536).contains(sizeMiB) else { throw ValidationError("--size-mib must be 1-65536") }
        guard (1...1_000_000).contains(files) else { throw ValidationError("--files must be 1-1000000") }
        guard (0...(1 << 20)).contains(fileBytes) else { throw ValidationError("--file-bytes must be 0-1048576") }
        guard (1...20).contains(rounds) else { throw ValidationError("--rounds must be 1-20") }
    }

    func run() async throws {
        let scratch = LocalCluster.temporaryDirectory(under: directory, "fuse")
        let plain = scratch + "/plain", source = scratch + "/src", mountpoint = scratch + "/mnt"
        for path in [plain, source, mountpoint] { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        let cleanup = try ExitCleanup([["sleep", "1"], ["umount", "-l", mountpoint], ["rm", "-rf", scratch]])
        let passthrough = try ServiceProcess(BenchCluster.binDirectory + "/atrest-fuse-passthrough", [source, mountpoint])
        defer {
            _ = passthrough.terminate()
            try? FileManager.default.removeItem(atPath: scratch)
            cleanup.dismiss()
        }
        print("fuse bench: \(BenchCluster.binDirectory)/atrest-fuse-passthrough over \(source); \(sizeMiB) MiB sequential, \(files) files of \(fileBytes) B, \(rounds) rounds (best)")
        let targets = [("local directory", plain), ("passthrough", mountpoint)]
        var best: [String: [String: Double]] = [:]  // job → target → rate
        for round in 1...rounds {
            for (label, path) in targets {
                let jobs = FileJobs(sizeMiB: sizeMiB, files: files, fileBytes: fileBytes)
                let write = try jobs.sequentialWrite(path + "/seq")
                let read = try jobs.sequentialRead(path + "/seq")
                try FileManager.default.removeItem(atPath: path + "/seq")
                let creates = try jobs.createFiles(path + "/small-\(round)")
                try FileManager.default.removeItem(atPath: path + "/small-\(round)")
                for (job, rate) in [("sequential write (fsync), MiB/s", write), ("sequential read, MiB/s", read), ("small-file creates, files/s", creates)] {
                    best[job, default: [:]][label] = max(best[job]?[label] ?? 0, rate)
                }
            }
        }
        print("job".padding(toLength: 36, withPad: " ", startingAt: 0) + "  local dir  passthrough  ratio")
        for job in ["sequential write (fsync), MiB/s", "sequential read, MiB/s", "small-file creates, files/s"] {
            let local = best[job]?["local directory"] ?? 0, fuse = best[job]?["passthrough"] ?? 0
            print(job.padding(toLength: 36, withPad: " ", startingAt: 0)
                  + String(format: "  %9.1f  %11.1f  %5.2f", local, fuse, local > 0 ? fuse / local : 0))
        }
        fflush(nil)
    }
}
