import AtRestRados

extension RadosCeiling {
    /// Index-style omap writes (one 20-byte entry per op, as a put sets its
    /// index entry), `inFlight` outstanding: all on one object (one PG,
    /// what a container index is) and spread over `shards` objects, to see
    /// whether one hot index object limits puts to one container.
    func measureIndex(shards: Int = 16) async throws -> [Figure] {
        let pool = self.pool
        let names = (0..<shards).map { "ceiling-index-\($0)" }
        defer { for name in names { try? pool.remove(name) } }
        let value = Array("18c2b6f3a41-0123456789abcdef".utf8)
        var figures: [Figure] = []
        for (label, spread) in [("omap set, 1 index object", 1), ("omap set, \(shards) index objects", shards)] {
            let latency = try await Latency.measure(seconds: seconds, callers: inFlight) { i in
                _ = try await pool.operate(names[i % spread], RadosWriteOperation([.setOmap(["o-\(i % 4096)": value])]))
            }
            figures.append(Figure(size: Size(tag: "index", label: "entry", bytes: value.count), label: "\(label), \(inFlight) in flight", latency: latency))
        }
        // A put's "set the entry again if it is absent" when it is present:
        // as a write op whose omap_cmp fails, and as a read of the key.
        let present = "o-\(0)"
        let failing = try await Latency.measure(seconds: seconds, callers: inFlight) { _ in
            do {
                _ = try await pool.operate(names[0], RadosWriteOperation([.compareOmap(key: present, value: []), .setOmap([present: value])]))
            } catch let error as RadosError where error.code == .comparisonFailed {}
        }
        figures.append(Figure(size: Size(tag: "index", label: "entry", bytes: value.count),
                              label: "omap set-if-absent, present (cmp fails), \(inFlight) in flight", latency: failing))
        let read = try await Latency.measure(seconds: seconds, callers: inFlight) { _ in
            _ = try await pool.read(names[0], RadosReadOperation([.omap(after: nil, prefix: present, max: 1)]))
        }
        figures.append(Figure(size: Size(tag: "index", label: "entry", bytes: value.count),
                              label: "omap read of one key, \(inFlight) in flight", latency: read))
        return figures
    }
}
