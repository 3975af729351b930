import ArgumentParser
import AtRestClient
import AtRestTesting
import AtRestWire
import Foundation
import Synchronization

/// `atrest-bench queue`: 1 KiB messages through the real services (front
/// door, workers, vault, identity on loopback; local storage), producers
/// putting and consumers getting + deleting at the same time, on one queue
/// and spread over several; messages/s put and consumed, put and get
/// latency. Printed alongside, in the same run and directory: plain
/// durable appends of the same records by as many writers (own fdatasync
/// each, and grouped), the cost floor of durability without encryption or
/// a service.
struct QueueBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue",
        abstract: "Queue put/get+delete rates and latencies vs plain durable appends of the same records.")

    @Option(help: "Seconds per case.") var seconds = 8.0
    @Option(help: "Producers (PutMessage loops).") var producers = 8
    @Option(help: "Consumers (GetMessages + DeleteMessage loops).") var consumers = 8
    @Option(help: "Messages per GetMessages.") var batch: UInt32 = 16
    @Option(help: "Message size in bytes.") var size = 1024
    @Option(help: "Queue counts to measure, comma-separated.") var queues = "1,4"
    @Option(help: "Crypto workers.") var workers = 2
    @Option(help: "Parent directory of the cluster's data (the baseline writes there too).") var directory = NSTemporaryDirectory()

    func run() async throws {
        let root = (directory as NSString).appendingPathComponent("atrest-bench-queue-\(getpid())")
        try? FileManager.default.removeItem(atPath: root)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let records = 4000
        let plain = try DurableAppends.run(path: root + "/appends", writers: producers, records: records, size: size, grouped: false)
        let grouped = try DurableAppends.run(path: root + "/grouped", writers: producers, records: records, size: size, grouped: true)
        print("baseline: plain durable appends of \(size)-byte records by \(producers) writers")
        print("  own fdatasync each      \(decimals(plain, 0)) records/s")
        print("  grouped fdatasync       \(decimals(grouped, 0)) records/s")
        let (cluster, blobs) = try await BenchCluster.start(workers: workers, root: root + "/cluster")
        defer { cluster.stop() }
        let client = QueueClient(blobs.base, account: blobs.account)
        let cpu = QueueCPU(cluster)
        let callRate = try await trivialCallRate(client)
        // A message takes a put, a delete and 1/batch of a get: the service's call rate bounds the message rate.
        let callsPerMessage = 2 + 1 / Double(batch)
        print("service call rate: peek on an empty queue, \(producers + consumers) callers: \(decimals(callRate, 0)) calls/s "
              + "= at most \(decimals(callRate / callsPerMessage, 0)) msg/s at \(decimals(callsPerMessage)) calls per message")
        for count in queues.split(separator: ",").compactMap({ Int($0) }) {
            let names = (0..<count).map { "bench-\(count)-\($0)" }
            for name in names { try await client.createQueue(name) }
            let mark = cpu.sample()
            let result = try await measure(client, names)
            let spent = cpu.sample() - mark
            let ratio = { (rate: Double) in decimals(rate / plain) }
            print("\(count) queue(s), \(producers) producers + \(consumers) consumers (get \(batch) + delete each), \(size)-byte messages, \(workers) workers:")
            print("  put       \(decimals(result.put.opsPerSecond, 0)) msg/s (\(ratio(result.put.opsPerSecond)) of plain appends)  p50 \(decimals(result.put.p50 * 1000)) ms  p99 \(decimals(result.put.p99 * 1000)) ms")
            print("  consumed  \(decimals(result.consumed, 0)) msg/s (\(ratio(result.consumed)))  get p50 \(decimals(result.get.p50 * 1000)) ms  p99 \(decimals(result.get.p99 * 1000)) ms  (\(result.left) left)")
            print("  target    2000 msg/s put and consumed per queue: put \(result.put.opsPerSecond / Double(count) >= 2000 ? "met" : "not met"), "
                  + "consumed \(result.consumed / Double(count) >= 2000 ? "met" : "not met") (per queue: \(decimals(result.put.opsPerSecond / Double(count), 0)) / \(decimals(result.consumed / Double(count), 0)))")
            print("  bound     \(decimals(callRate / callsPerMessage / Double(count), 0)) msg/s per queue from the service call rate above (same run)")
            print("  " + cpu.line(spent, messages: result.consumed * result.wall))
        }
    }

    struct Result {
        var put: Latency
        var get: Latency
        var consumed: Double
        var wall: Double
        var left: Int64
    }

    /// Calls/s of the cheapest queue call (peek on an empty queue) by as many
    /// callers as producers + consumers: what the front door and workers
    /// sustain per call without storage writes.
    private func trivialCallRate(_ client: QueueClient) async throws -> Double {
        try await client.createQueue("bench-empty")
        let rate = try await Latency.measure(seconds: min(seconds, 4), callers: producers + consumers) { _ in
            _ = try await client.peek("bench-empty")
        }.opsPerSecond
        try await client.deleteQueue("bench-empty")
        return rate
    }

    /// Producers and consumers at once for `seconds`; then the rest is drained (not timed) and counted.
    private func measure(_ client: QueueClient, _ names: [String]) async throws -> Result {
        let body = [UInt8](repeating: 0x42, count: size)
        let deadline = BenchClock.now() + seconds
        let deleted = Latency.Ticket()
        let start = BenchClock.now()
        let (puts, gets) = try await withThrowingTaskGroup(of: (put: [Double], get: [Double]).self) { group in
            for producer in 0..<producers {
                group.addTask {
                    var mine: [Double] = []
                    while BenchClock.now() < deadline {
                        let t = BenchClock.now()
                        _ = try await client.put(names[producer % names.count], body)
                        mine.append(BenchClock.now() - t)
                    }
                    return (mine, [])
                }
            }
            for consumer in 0..<consumers {
                group.addTask {
                    var mine: [Double] = []
                    while BenchClock.now() < deadline {
                        let queue = names[consumer % names.count]
                        let t = BenchClock.now()
                        let messages = try await client.get(queue, count: batch, visibilitySeconds: 300)
                        mine.append(BenchClock.now() - t)
                        if messages.isEmpty { try await Task.sleep(for: .milliseconds(2)) }
                        try await withThrowingTaskGroup(of: Void.self) { deletes in
                            for message in messages {
                                deletes.addTask { try await client.delete(queue, messageID: message.messageID, popReceipt: message.popReceipt) }
                            }
                            try await deletes.waitForAll()
                        }
                        deleted.value.add(messages.count, ordering: .relaxed)
                    }
                    return ([], mine)
                }
            }
            var puts: [Double] = [], gets: [Double] = []
            for try await samples in group { puts += samples.put; gets += samples.get }
            return (puts, gets)
        }
        let wall = BenchClock.now() - start
        var left: Int64 = 0
        for name in names { left += try await client.properties(name).approximateMessageCount }
        return Result(put: Latency(samples: puts, wall: wall), get: Latency(samples: gets, wall: wall),
                      consumed: Double(deleted.value.load(ordering: .relaxed)) / wall, wall: wall, left: left)
    }
}
