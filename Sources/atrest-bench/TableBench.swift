import AtRestRuntime
import ArgumentParser
import AtRestClient
import AtRestTesting
import AtRestWire
import Foundation

/// `atrest-bench table`: 1 KiB entities through the real services (front
/// door, workers, vault, identity on loopback; local storage) with 8
/// callers: inserts/s into one partition and across 16, point get p50/p99
/// (and from one caller alone), and a scan of a 10,000-entity partition
/// (entities/s), first (building its RowKey index) and again. Measured in the
/// same run and directory: SQLite in WAL mode with synchronous=FULL, the
/// same entities as JSON rows with a (pk, rk) primary key, one transaction
/// per insert, the same number of callers each with its own connection.
struct TableBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "table",
        abstract: "Table insert, point get and partition scan rates vs SQLite (WAL, synchronous=FULL) in the same run "
            + "(a local file, with --backend rados too).")

    @Option(help: "Seconds per timed case.") var seconds = 8.0
    @Option(help: "Concurrent callers.") var callers = 8
    @Option(help: "Entity size in bytes (one string property).") var size = 1024
    @Option(help: "Entities in the scanned partition.") var scanEntities = 10_000
    @Option(help: "Partitions written and scanned first, once each (the first scan's figure is their median).") var firstScans = 3
    @Option(help: "Crypto workers.") var workers = 2
    @OptionGroup var storage: BenchBackendOptions
    @Option(help: "Parent directory of the cluster's data (the baseline writes there too).") var directory = NSTemporaryDirectory()

    func run() async throws {
        MemoryTuning.keepLargeBuffers()  // as the `atrest` CLI does: 1 MiB pages of entities decoded into reused heap, not fresh pages
        let root = (directory as NSString).appendingPathComponent("atrest-bench-table-\(getpid())")
        try? FileManager.default.removeItem(atPath: root)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let pad = String(repeating: "x", count: max(1, size - 40))
        let json = String(decoding: try JSONSerialization.data(withJSONObject: ["Pad": pad, "Name": "entity"]), as: UTF8.self)
        let sqlite = root + "/baseline.sqlite"
        let sqliteOne = try SQLiteEntityBaseline.inserts(path: sqlite, callers: callers, partitions: 1, seconds: seconds, row: json)
        let sqliteMany = try SQLiteEntityBaseline.inserts(path: sqlite, callers: callers, partitions: 16, seconds: seconds, row: json)
        print("baseline: SQLite WAL synchronous=FULL, one transaction per insert, \(callers) callers (a connection each), \(json.utf8.count)-byte JSON rows")
        print("  inserts, 1 partition    \(decimals(sqliteOne, 0))/s")
        print("  inserts, 16 partitions  \(decimals(sqliteMany, 0))/s")

        let dev = try storage.startCeph("the SQLite baseline above is a local file")
        defer { try? dev?.stop() }
        let (cluster, blobs) = try await BenchCluster.start(workers: workers, root: root + "/cluster", storage: dev?.clusterStorage() ?? .local)
        defer { cluster.stop() }
        let client = TableClient(blobs.base, account: blobs.account)
        try await client.createTable("bench")
        let properties = [EntityProperty(name: "Pad", type: EntityProperty.Kind.string.rawValue, stringValue: pad),
                          EntityProperty(name: "Name", type: EntityProperty.Kind.string.rawValue, stringValue: "entity")]
        print("AtRest: \(workers) workers (services from \(BenchCluster.binDirectory)), \(callers) callers, entities of \(size) bytes of properties:")
        for partitions in [1, 16] {
            let inserts = try await Latency.measure(seconds: seconds, callers: callers) { i in
                _ = try await client.insert("bench", Entity(partitionKey: "p\(partitions)-\(i % partitions)", rowKey: "r\(i)", properties: properties))
            }
            let sqliteRate = partitions == 1 ? sqliteOne : sqliteMany
            print("  inserts, \(partitions) partition(s)  \(decimals(inserts.opsPerSecond, 0))/s (\(decimals(inserts.opsPerSecond / sqliteRate)) of SQLite)  "
                  + "p50 \(decimals(inserts.p50 * 1000)) ms  p99 \(decimals(inserts.p99 * 1000)) ms")
            if partitions == 1 {
                print("    target ≥ 2000 durable inserts/s per partition: \(inserts.opsPerSecond >= 2000 ? "met" : "not met")")
            }
            print("    target ≥ 1.0× SQLite: \(inserts.opsPerSecond >= sqliteRate ? "met" : "not met")")
        }
        let stored = try await client.query("bench", filter: "PartitionKey eq 'p1-0'", select: ["Name"], top: 1000).entities.map(\.rowKey)
        let gets = try await Latency.measure(seconds: seconds, callers: callers) { i in
            _ = try await client.get("bench", partitionKey: "p1-0", rowKey: stored[i % stored.count])
        }
        print("  point get  \(decimals(gets.opsPerSecond, 0))/s  p50 \(decimals(gets.p50 * 1000)) ms  p99 \(decimals(gets.p99 * 1000)) ms "
              + "(target p99 ≤ 2 ms: \(gets.p99 <= 0.002 ? "met" : "not met"))")
        // The same gets from one caller: the latency of a get alone, not of a get queued behind 7 others on these cores.
        let alone = try await Latency.measure(seconds: seconds / 2, callers: 1) { i in
            _ = try await client.get("bench", partitionKey: "p1-0", rowKey: stored[(i * 7919) % stored.count])
        }
        print("  point get, 1 caller  \(decimals(alone.opsPerSecond, 0))/s  p50 \(decimals(alone.p50 * 1000)) ms  p99 \(decimals(alone.p99 * 1000)) ms")

        // Partitions of `scanEntities`, written in batches of 100, then read whole in pages of 1000. The first scan
        // of a partition finds no partition index (its entities were just written) and builds it; it is one
        // short sample per partition, so `firstScans` partitions are written and each scanned first once (the
        // median is the figure). The scans after are what every later scan of a partition costs (median of five).
        let batches = (scanEntities + 99) / 100
        func scan(_ partition: String) async throws -> (rate: Double, entities: Int) {
            let start = BenchClock.now()
            var continuation = "", scanned = 0
            repeat {
                let page = try await client.query("bench", filter: "PartitionKey eq '\(partition)'", top: 1000, continuation: continuation)
                scanned += page.entities.count
                continuation = page.continuation
            } while !continuation.isEmpty
            return (Double(scanned) / (BenchClock.now() - start), scanned)
        }
        var first: [Double] = [], scanned = 0
        for p in 0..<firstScans {
            _ = try await Latency.measure(seconds: 0, count: batches, callers: callers) { i in
                guard i > 0 else { return }  // the warm-up call: batches 1...count are the partition
                let operations = (0..<100).map { EntityOperation(kind: EntityOperation.Kind.insert.rawValue,
                                                                 entity: Entity(partitionKey: "scan\(p)", rowKey: "b\(i)-\($0)", properties: properties)) }
                _ = try await client.batch("bench", operations)
            }
            let result = try await scan("scan\(p)")
            first.append(result.rate)
            scanned = result.entities
        }
        var again: [Double] = []
        for _ in 0..<5 { again.append(try await scan("scan0").rate) }
        try SQLiteEntityBaselineFill.fill(sqlite, partition: "scan", count: scanned, row: json)
        let baselineScan = try SQLiteEntityBaseline.scan(path: sqlite, partition: "scan")
        for (rates, label) in [(first, "first, builds the partition index; median of \(first.count) partitions"),
                               (again, "again, index in place, median of \(again.count)")] {
            let sorted = rates.sorted(), rate = sorted[sorted.count / 2]
            print("  scan of a \(scanned)-entity partition (\(label): \(sorted.map { decimals($0, 0) }.joined(separator: ", ")))  "
                  + "\(decimals(rate, 0)) entities/s in pages of 1000 (target ≥ 50000: \(rate >= 50_000 ? "met" : "not met"))")
        }
        print("    SQLite \(decimals(baselineScan.perSecond, 0)) rows/s (\(baselineScan.rows) rows, parsed)")
    }
}

/// Rows for the baseline's scan: the same count in one partition, in one transaction (not timed).
enum SQLiteEntityBaselineFill {
    static func fill(_ path: String, partition: String, count: Int, row: String) throws {
        let connection = try SQLiteEntityBaseline.open(path)
        try connection.transaction {
            for i in 0..<count { try connection.query("INSERT INTO entities (pk, rk, body) VALUES (?, ?, ?)", [.text(partition), .text("r\(i)"), .text(row)]) }
        }
    }
}
