import AtRestCrypto
import AtRestRados
import Synchronization

extension RadosCeiling {
    /// What a 4 KiB replace of an existing object costs RADOS itself, in
    /// the op patterns a backend can choose (`atrest-bench rados --cases
    /// replace`), `inFlight` outstanding, over 64 existing objects:
    /// write_full alone (the ceiling), write_full with the record as an
    /// xattr, the same comparing an xattr mark (the backend's blind
    /// replace), the same asserting a version known from the last write,
    /// and a head read (stat, xattrs, 64 KiB prefix) followed by the
    /// asserting write (what a replace costs when the version must be read
    /// first).
    func measureReplace() async throws -> [Figure] {
        let pool = self.pool
        let data = try SecureRandom.bytes(4 << 10)
        let record = try SecureRandom.bytes(96)
        let names = (0..<64).map { "ceiling-replace-\($0)" }
        defer { for name in names { try? pool.remove(name) } }
        let versions = Mutex([UInt64](repeating: 0, count: names.count))
        for (k, name) in names.enumerated() {
            let version = try await pool.operate(name, RadosWriteOperation([.writeFull(RadosBytes(data)), .setXattr(name: "r", value: record)]))
            versions.withLock { $0[k] = version }
        }
        let size = Size(tag: "replace", label: "4 KiB", bytes: data.count)
        var figures: [Figure] = []
        figures.append(try await figure(size, "write_full 4 KiB, \(inFlight) in flight") { i in
            try await pool.writeFull(names[i % names.count], data)
        })
        figures.append(try await figure(size, "write_full + xattr, \(inFlight) in flight") { i in
            let k = i % names.count
            let version = try await pool.operate(names[k], RadosWriteOperation([.writeFull(RadosBytes(data)), .setXattr(name: "r", value: record)]))
            versions.withLock { $0[k] = version }
        })
        // The backend's blind replace (RadosBackend.replaceBlind): the mark compared, no version known.
        for name in names { _ = try await pool.operate(name, RadosWriteOperation([.setXattr(name: "b", value: [0x31])])) }
        figures.append(try await figure(size, "cmpxattr + write_full + xattr (blind), \(inFlight) in flight") { i in
            _ = try await pool.operate(names[i % names.count], RadosWriteOperation([.compareXattr(name: "b", value: [0x31]), .writeFull(RadosBytes(data)),
                                                                                    .setXattr(name: "r", value: record)]))
        })
        for (k, name) in names.enumerated() {
            let version = try await pool.read(name, RadosReadOperation([.stat])).version
            versions.withLock { $0[k] = version }
        }
        figures.append(try await figure(size, "assert_version (known) + write_full + xattr, \(inFlight) in flight") { i in
            let k = i % names.count
            var known = versions.withLock { $0[k] }
            while true {
                do {
                    let version = try await pool.operate(names[k], RadosWriteOperation([.assertVersion(known), .writeFull(RadosBytes(data)), .setXattr(name: "r", value: record)]))
                    versions.withLock { $0[k] = version }
                    return
                } catch let error as RadosError where error.code == .versionMismatch {
                    known = try await pool.read(names[k], RadosReadOperation([.stat])).version
                }
            }
        })
        figures.append(try await figure(size, "head read, then assert_version + write_full + xattr, \(inFlight) in flight") { i in
            let k = i % names.count
            while true {
                let seen = try await pool.read(names[k], RadosReadOperation([.stat, .xattrs, .read(offset: 0, length: 64 << 10)])).version
                do {
                    _ = try await pool.operate(names[k], RadosWriteOperation([.assertVersion(seen), .writeFull(RadosBytes(data)), .setXattr(name: "r", value: record)]))
                    return
                } catch let error as RadosError where error.code == .versionMismatch {
                    continue
                }
            }
        })
        return figures
    }
}

extension RadosCeiling {
    /// write_full of `bytes` over 4, 64 and 256 existing objects, `inFlight`
    /// outstanding, in alternating rounds (`atrest-bench rados --cases
    /// spread` for 4 KiB, `spread1m` for 1 MiB): how much the number of
    /// distinct objects rewritten (and so their placement on the OSDs)
    /// changes what a write costs.
    func measureSpread(bytes: Int = 4 << 10, rounds: Int = 2) async throws -> [Figure] {
        let pool = self.pool
        let data = try SecureRandom.bytes(bytes)
        let counts = [4, 64, 256]
        let names = (0..<counts.max()!).map { "ceiling-spread-\($0)" }
        defer { for name in names { try? pool.remove(name) } }
        for name in names { try await pool.writeFull(name, data) }
        let size = Size(tag: "spread", label: bytes >= 1 << 20 ? "\(bytes >> 20) MiB" : "\(bytes >> 10) KiB", bytes: data.count)
        var figures: [Figure] = []
        for round in 0..<rounds {
            for count in round % 2 == 0 ? counts : counts.reversed() {
                figures.append(try await figure(size, "write_full \(size.label) over \(count) objects, \(inFlight) in flight") { i in
                    try await pool.writeFull(names[i % count], data)
                })
            }
        }
        return figures
    }
}
