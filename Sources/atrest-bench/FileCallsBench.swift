import ArgumentParser
import AtRestClient
import AtRestTesting
import AtRestWire
import Foundation

/// `atrest-bench file-calls`: the service calls a mount makes for each
/// small file it creates (the kernel's lookup of the new name, then the
/// create with the file's bytes at close), one caller, straight through
/// `FileClient`, beside the cheapest call of the same services (a share's
/// properties): what the files bench's small-file creates cost before
/// FUSE and the mount add theirs (docs/BENCHMARKS.md "Files").
struct FileCallsBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "file-calls",
        abstract: "Latency of the file calls behind a small-file create (lookup of a missing name, create with data, stat), one caller.")

    @Option(help: "Seconds per case.") var seconds = 4.0
    @Option(help: "Bytes of each created file.") var fileBytes = 4096
    @Option(help: "Crypto workers.") var workers = 2
    @Option(help: "Parent directory of the cluster's data.") var directory = NSTemporaryDirectory()

    func run() async throws {
        let root = LocalCluster.temporaryDirectory(under: directory, "file-calls")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (cluster, blobs) = try await BenchCluster.start(workers: workers, root: root + "/cluster")
        defer { cluster.stop() }
        let files = FileClient(blobs.base, account: blobs.account)
        let share = "calls"
        _ = try await files.createShare(share, quota: 1 << 40)
        _ = try await files.createDirectory(share, "d")
        let bytes = [UInt8](repeating: 0x61, count: fileBytes)
        let created = Latency.Ticket()
        print("one caller, \(workers) workers, \(fileBytes)-byte files, \(decimals(seconds, 0)) s per case:")
        let cases: [(String, @Sendable (Int) async throws -> Void)] = [
            ("share properties (the cheapest call)", { _ in _ = try await files.shareProperties(share) }),
            ("stat of a missing name (a lookup)", { i in
                do {
                    _ = try await files.properties(share, "d/missing-\(i)")
                    throw RPCStatus(.internal, "d/missing-\(i) exists")
                } catch let error as RPCStatus where error.code == .notFound {}
            }),
            ("create with the file's bytes", { _ in
                let n = created.value.add(1, ordering: .relaxed).newValue
                _ = try await files.createFile(share, "d/f\(n)", data: bytes, mode: 0o644)
            }),
            ("stat of an existing file", { i in _ = try await files.properties(share, "d/f\(i % max(1, created.value.load(ordering: .relaxed)) + 1)") }),
        ]
        for (name, body) in cases {
            let latency = try await Latency.measure(seconds: seconds, callers: 1, body)
            print("  " + latency.line(name, bytes: 0).replacingOccurrences(of: "  0.0 MiB/s", with: ""))
        }
        // What a mount's listing of a directory costs (it answers a second of lookups of missing names there).
        let entries = try await files.listAll(share, "d").count
        let listing = try await Latency.measure(seconds: seconds, callers: 1) { _ in _ = try await files.listAll(share, "d") }
        print("  " + listing.line("list of the directory (\(entries) entries)", bytes: 0).replacingOccurrences(of: "  0.0 MiB/s", with: "")
              + String(format: ", %.1f µs per entry", listing.p50 * 1e6 / Double(max(1, entries))))
    }
}
