import AtRestCrypto
import AtRestRados
import Synchronization

extension RadosCeiling {
    /// What a 4 KiB replace of an existing object costs RADOS itself, in
    /// the op patterns a backend can choose (`atrest-bench rados --cases
    /// replace`), `inFlight` outstanding, over 64 existing objects:
    /// write_full alone (the ceiling), write_full with the record as an
    /// xattr, the same asserting a version known from the last write (a
    /// blind replace), and a head read (stat, xattrs, 64 KiB prefix) followed
    /// by the asserting write (what a replace costs when the version must be
    /// read first).
    func measureReplace() async throws -> [Figure] {
        let pool = self.pool
        let data = try SecureRandom.bytes(4 << 10)
        let record = try SecureRandom.bytes(96)
        let names = (0..<64).map { "ceiling-replace-\($0)" }
        defer { for name in names { try? pool.remove(name) } }
        let versions = Mutex([UInt64](repeating: 0, count: names.count))
        for (k, name) in names.enumerated() {
            let version = try await pool.operate(name, RadosWriteOperation([.writeFull(data), .setXattr(name: "r", value: record)]))
            versions.withLock { $0[k] = version }
        }
        let size = Size(tag: "replace", label: "4 KiB", bytes: data.count)
        var figures: [Figure] = []
        let plain = try await Latency.measure(seconds: seconds, callers: inFlight) { i in
            try await pool.writeFull(names[i % names.count], data)
        }
        figures.append(Figure(size: size, label: "write_full 4 KiB, \(inFlight) in flight", latency: plain))
        let withRecord = try await Latency.measure(seconds: seconds, callers: inFlight) { i in
            let k = i % names.count
            let version = try await pool.operate(names[k], RadosWriteOperation([.writeFull(data), .setXattr(name: "r", value: record)]))
            versions.withLock { $0[k] = version }
        }
        figures.append(Figure(size: size, label: "write_full + xattr, \(inFlight) in flight", latency: withRecord))
        let blind = try await Latency.measure(seconds: seconds, callers: inFlight) { i in
            let k = i % names.count
            var known = versions.withLock { $0[k] }
            while true {
                do {
                    let version = try await pool.operate(names[k], RadosWriteOperation([.assertVersion(known), .writeFull(data), .setXattr(name: "r", value: record)]))
                    versions.withLock { $0[k] = version }
                    return
                } catch let error as RadosError where error.code == .versionMismatch {
                    known = try await pool.read(names[k], RadosReadOperation([.stat])).version
                }
            }
        }
        figures.append(Figure(size: size, label: "assert_version (known) + write_full + xattr, \(inFlight) in flight", latency: blind))
        let readFirst = try await Latency.measure(seconds: seconds, callers: inFlight) { i in
            let k = i % names.count
            while true {
                let seen = try await pool.read(names[k], RadosReadOperation([.stat, .xattrs, .read(offset: 0, length: 64 << 10)])).version
                do {
                    _ = try await pool.operate(names[k], RadosWriteOperation([.assertVersion(seen), .writeFull(data), .setXattr(name: "r", value: record)]))
                    return
                } catch let error as RadosError where error.code == .versionMismatch {
                    continue
                }
            }
        }
        figures.append(Figure(size: size, label: "head read, then assert_version + write_full + xattr, \(inFlight) in flight", latency: readFirst))
        return figures
    }
}
