import Foundation
import Synchronization

/// The plain baseline for small durable records: `writers` threads append
/// `size`-byte records to one file, each record acknowledged only after an
/// `fdatasync` that started after its write. `grouped`: a writer whose
/// record was written while another's fdatasync ran waits for the next one
/// and shares it (group commit, what the record maps do); otherwise every
/// record has its own fdatasync. Returns records per second.
enum DurableAppends {
    static func run(path: String, writers: Int, records: Int, size: Int, grouped: Bool) throws -> Double {
        let fd = open(path, O_CREAT | O_WRONLY | O_APPEND | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw BenchError("open \(path): errno \(errno)") }
        defer { close(fd); unlink(path) }
        let record = [UInt8](repeating: 0x5A, count: size)
        let sync = GroupSync(fd)
        let failures = Atomic<Int>(0)
        let start = BenchClock.now()
        DispatchQueue.concurrentPerform(iterations: writers) { writer in
            for _ in 0..<(records / writers) {
                let n = record.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                let synced = grouped ? sync.sync() : fdatasync(fd) == 0
                if n != size || !synced { failures.add(1, ordering: .relaxed) }
            }
        }
        let elapsed = BenchClock.now() - start
        guard failures.load(ordering: .relaxed) == 0 else { throw BenchError("write or fdatasync failed") }
        return Double(records / writers * writers) / elapsed
    }

    /// Shares fdatasyncs: a caller returns after an fdatasync that began
    /// after it called (`DirectorySync`'s rule, for a file).
    private final class GroupSync: @unchecked Sendable {
        let fd: Int32
        let condition = NSCondition()
        var started = 0, finished = 0, running = false

        init(_ fd: Int32) { self.fd = fd }

        func sync() -> Bool {
            condition.lock()
            defer { condition.unlock() }
            let target = started + 1  // the next fdatasync to start
            while finished < target {
                guard !running else { condition.wait(); continue }
                running = true
                started += 1
                condition.unlock()
                let ok = fdatasync(fd) == 0
                condition.lock()
                running = false
                finished += 1
                condition.broadcast()
                if !ok { return false }
            }
            return true
        }
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
