import ArgumentParser
import AtRestStorage
import Foundation

/// `atrest-bench records`: durable record batches of the local backend
/// (SQLite, WAL, synchronous=FULL, group commit) by several writers on one
/// map and on several maps, against plain durable appends of the same
/// records by as many writers (each with its own fdatasync, and grouped),
/// in the same run and directory.
struct RecordsBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "records",
        abstract: "Record map batches (local backend) vs plain durable appends of the same records.")

    @Option(help: "Scratch directory on the disk to measure (removed afterwards).") var directory = "./.atrest-bench-records"
    @Option(help: "Concurrent writers.") var writers = 8
    @Option(help: "Records per case.") var records = 4000
    @Option(help: "Record size in bytes.") var size = 1024
    @Option(help: "Maps for the multi-map case.") var maps = 4

    func run() async throws {
        let fm = FileManager.default
        try? fm.removeItem(atPath: directory)
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: directory) }
        let plain = try DurableAppends.run(path: directory + "/appends", writers: writers, records: records, size: size, grouped: false)
        let grouped = try DurableAppends.run(path: directory + "/grouped", writers: writers, records: records, size: size, grouped: true)
        let backend = try LocalBackend(directory: directory + "/backend")
        let oneMap = try await batches(backend, maps: 1)
        let manyMaps = try await batches(backend, maps: maps)
        func row(_ name: String, _ rate: Double) -> String {
            "\(name.padding(toLength: 64, withPad: " ", startingAt: 0)) \(String(format: "%8.0f", rate)) records/s  ratio \(String(format: "%.2f", rate / plain))"
        }
        print("\(writers) writers, \(size)-byte records, \(records) per case")
        print(row("plain append + own fdatasync each (baseline)", plain))
        print(row("plain append + grouped fdatasync", grouped))
        print(row("record batch (absent + set), 1 map", oneMap))
        print(row("record batch (absent + set), \(maps) maps", manyMaps))
    }

    /// Records per second of `writers` tasks applying one-record batches, spread over `maps` maps.
    private func batches(_ backend: LocalBackend, maps: Int) async throws -> Double {
        let names = try (0..<maps).map { try RecordMapName(try BackendContainer("a-bench"), "q-\(maps)-\($0)") }
        for name in names { try await backend.createRecordMap(name) }
        let value = [UInt8](repeating: 0xA5, count: size)
        let perWriter = records / writers
        let start = BenchClock.now()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    for i in 0..<perWriter {
                        let key = "k-\(writer)-\(i)"
                        try await backend.apply(RecordBatch(conditions: [.absent(key)], sets: [key: value]), to: names[writer % maps])
                    }
                }
            }
            try await group.waitForAll()
        }
        return Double(perWriter * writers) / (BenchClock.now() - start)
    }
}
