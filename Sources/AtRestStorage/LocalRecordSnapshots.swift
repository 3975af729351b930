import Glibc
import Synchronization

/// Private copies of record maps for a `LocalBackend` opened `readingOnly`
/// (offline recovery). SQLite writes beside a database even to read it: it
/// creates the `-wal` and `-shm` files of a WAL database, also when opened
/// read-only, and the last connection to close checkpoints the log into the
/// file. So each map file and its log are copied into a temporary directory
/// of this instance and opened there, and the data directory is never
/// touched. The copies are removed by `remove(_:)` when the reader is done
/// with a map (`StorageBackend.doneReading`), the rest by `removeAll()`
/// (when the backend's maps are closed).
final class LocalRecordSnapshots: Sendable {
    /// The temporary directory, made at the first copy.
    private let directory = Mutex<String?>(nil)
    private let copies = Atomic<Int>(0)

    /// A private copy of the map at `path` (and of its log, when there is one).
    func copy(_ path: String) throws -> String {
        let target = try temporaryDirectory() + "/map-\(copies.wrappingAdd(1, ordering: .relaxed).newValue).sqlite"
        try Self.copyFile(path, to: target)
        if FileSystem.exists(path + "-wal") { try Self.copyFile(path + "-wal", to: target + "-wal") }
        return target
    }

    /// Removes one copy (and its log files); an open connection to it keeps
    /// reading until closed.
    func remove(_ copy: String) {
        for file in [copy, copy + "-wal", copy + "-shm"] { _ = try? FileSystem.remove(file) }
    }

    /// Removes every copy; call once no copy is open any more.
    func removeAll() {
        guard let made = directory.withLock({ $0 }) else { return }
        for name in (try? FileSystem.list(made)) ?? [] { _ = try? FileSystem.remove("\(made)/\(name)") }
        rmdir(made)
    }

    private func temporaryDirectory() throws -> String {
        try directory.withLock { made in
            if let made { return made }
            let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
            var template = Array("\(base)/atrest-record-maps-XXXXXX".utf8CString)
            guard let created = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
                throw SystemCall.error("mkdtemp", base)
            }
            made = String(cString: created)
            return made!
        }
    }

    private static func copyFile(_ source: String, to target: String) throws {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw SystemCall.error("open", source) }
        defer { close(input) }
        let output = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw SystemCall.error("open", target) }
        defer { close(output) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress!, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw SystemCall.error("read", source) }
            if count == 0 { return }
            try buffer.withUnsafeBytes { try FileSystem.writeAll(output, UnsafeRawBufferPointer(rebasing: $0[0..<count]), path: target) }
        }
    }
}
