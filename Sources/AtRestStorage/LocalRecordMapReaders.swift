import AtRestSQLite
import Synchronization

/// The reading connections of one `LocalRecordMap`: each read takes an idle
/// one (opening another when none is idle) and gives it back, so reads run
/// side by side and never wait for the writing connection's commit.
final class LocalRecordMapReaders: Sendable {
    private let path: String
    private let idle = Mutex<[SQLiteConnection]>([])
    /// Idle connections kept open; more are closed when given back.
    static let kept = 4

    init(path: String) { self.path = path }

    func with<R>(_ body: (SQLiteConnection) throws -> R) throws -> R {
        let connection = try idle.withLock { $0.popLast() } ?? LocalRecordMap.mapping { try SQLiteConnection(path: path, create: false) }
        defer {
            idle.withLock { idle in if idle.count < Self.kept { idle.append(connection) } }
        }
        return try body(connection)
    }
}
