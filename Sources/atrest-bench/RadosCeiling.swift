import AtRestCrypto
import AtRestRados

/// librados' own ceiling on a pool: write_full and read of whole objects of
/// one size with `inFlight` calls outstanding (aio: `RadosPool`'s async
/// verbs, no thread per call), and for objects above `stripe` also the same
/// object as concurrent stripe writes and reads (`inFlight` stripes
/// outstanding, objects one after another), as any client that keeps RADOS
/// objects to a few MiB must do. It is what a RADOS client of this pool can
/// reach here: `atrest-bench rados` prints it, and `e2e --backend rados`
/// prints it beside AtRest's figures for the same sizes and the same number
/// in flight. Objects are named `ceiling-*` and removed after each size.
struct RadosCeiling {
    /// An object size, tagged as `e2e --cases` tags them.
    struct Size: Sendable {
        let tag: String
        let label: String
        let bytes: Int

        static let all = [Size(tag: "4k", label: "4 KiB", bytes: 4 << 10),
                          Size(tag: "1m", label: "1 MiB", bytes: 1 << 20),
                          Size(tag: "64m", label: "64 MiB", bytes: 64 << 20)]
        static func named(_ tag: String) -> Size? { all.first { $0.tag == tag } }
    }

    /// One measured case: per-object latencies and rates.
    struct Figure {
        let size: Size
        let label: String
        let latency: Latency
        /// CPU per op of the cluster's daemons and the client, when a meter was given.
        var cpu: String?
        var bytesPerSecond: Double { latency.opsPerSecond * Double(size.bytes) }
        var line: String { latency.line(label, bytes: size.bytes) + (cpu.map { "\n" + $0 } ?? "") }
    }

    let pool: RadosPool
    let inFlight: Int
    let seconds: Double
    /// Objects larger than this are also measured as stripes of this size.
    var stripe = 4 << 20
    /// Samples the CPU of the OSDs, the monitor and the client (a ceph-dev cluster's daemons).
    var meter: CPUMeter?

    /// `body` called by `inFlight` loops for `seconds`, with its CPU per op when metered.
    func figure(_ size: Size, _ label: String, _ body: @escaping @Sendable (Int) async throws -> Void) async throws -> Figure {
        let mark = meter?.sample()
        let latency = try await Latency.measure(seconds: seconds, callers: inFlight, body)
        return Figure(size: size, label: label, latency: latency, cpu: mark.flatMap { mark in meter?.line(since: mark, ops: latency.count + 1) })
    }

    /// write_full and read of whole objects of `size`; for sizes above
    /// `stripe` then the striped write and read.
    func measure(_ size: Size) async throws -> [Figure] {
        let data = try SecureRandom.bytes(size.bytes)
        let pool = self.pool, slots = max(1, inFlight)
        let whole = (0..<slots).map { "ceiling-\(size.tag)-\($0)" }
        defer { remove(whole) }
        let write = try await figure(size, "write_full \(size.label), \(inFlight) in flight") { i in
            try await pool.writeFull(whole[i % slots], data)
        }
        for name in whole.dropFirst(write.latency.count + 1) { try await pool.writeFull(name, data) }  // every slot exists for the reads
        let read = try await figure(size, "read \(size.label), \(inFlight) in flight") { i in
            try await Self.readWhole(pool, whole[i % slots], size.bytes)
        }
        var figures = [write, read]
        guard size.bytes > stripe else { return figures }

        let count = (size.bytes + stripe - 1) / stripe
        let stripes = (0..<count).map { Array(data[($0 * stripe)..<min(size.bytes, ($0 + 1) * stripe)]) }
        let names = (0..<2).map { object in (0..<count).map { "ceiling-\(size.tag)-striped-\(object).\($0)" } }
        defer { remove(names.flatMap { $0 }) }
        let inFlight = self.inFlight
        let stripedWrite = try await Latency.measure(seconds: seconds, callers: 1) { i in
            try await Self.concurrently(count, inFlight) { k in try await pool.writeFull(names[i % 2][k], stripes[k]) }
        }
        let stripedRead = try await Latency.measure(seconds: seconds, callers: 1) { i in
            try await Self.concurrently(count, inFlight) { k in try await Self.readWhole(pool, names[i % 2][k], stripes[k].count) }
        }
        let layout = "\(count)×\(stripe >> 20) MiB stripes, \(inFlight) in flight"
        figures.append(Figure(size: size, label: "write \(size.label) as \(layout)", latency: stripedWrite))
        figures.append(Figure(size: size, label: "read \(size.label) as \(layout)", latency: stripedRead))
        return figures
    }

    /// write_full of whole objects of `size` for `seconds`, `inFlight`
    /// outstanding over `inFlight` objects (created by the first writes,
    /// removed after): one round of the ceiling, to alternate with rounds of
    /// what is compared with it.
    func writeFullRound(_ size: Size) async throws -> Latency {
        let data = try SecureRandom.bytes(size.bytes)
        let pool = self.pool, slots = max(1, inFlight)
        let names = (0..<slots).map { "ceiling-\(size.tag)-round-\($0)" }
        defer { remove(names) }
        return try await Latency.measure(seconds: seconds, callers: inFlight) { i in try await pool.writeFull(names[i % slots], data) }
    }

    /// `data` written once as new objects of `stripe` bytes, `inFlight`
    /// outstanding (removed after): the seconds it took. One sample of the
    /// striped ceiling, to alternate with what is compared with it.
    func stripedWrite(_ data: [UInt8]) async throws -> Double {
        let pool = self.pool, stripe = self.stripe
        let count = (data.count + stripe - 1) / stripe
        let stripes = (0..<count).map { Array(data[($0 * stripe)..<min(data.count, ($0 + 1) * stripe)]) }
        let names = (0..<count).map { "ceiling-round-striped.\($0)" }
        defer { remove(names) }
        let start = BenchClock.now()
        try await Self.concurrently(count, inFlight) { k in try await pool.writeFull(names[k], stripes[k]) }
        return BenchClock.now() - start
    }

    private static func readWhole(_ pool: RadosPool, _ name: String, _ count: Int) async throws {
        let got = try await pool.read(name, length: count)
        guard got.count == count else { throw RadosError(.failed, "read \(pool.name)/\(name): \(got.count) of \(count) bytes") }
    }

    /// `body(0..<count)` with at most `limit` calls outstanding.
    private static func concurrently(_ count: Int, _ limit: Int, _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            while next < min(max(1, limit), count) { let k = next; group.addTask { try await body(k) }; next += 1 }
            for try await _ in group where next < count {
                let k = next
                group.addTask { try await body(k) }
                next += 1
            }
        }
    }

    private func remove(_ names: [String]) {
        for name in names { try? pool.remove(name) }
    }
}
