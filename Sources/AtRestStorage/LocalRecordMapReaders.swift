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

    /// The connection `changeCount` asks (opened on first use, used for nothing else), the data version it last
    /// gave, and the count returned for it.
    private let counter = Mutex<(connection: SQLiteConnection?, seen: Int64?, count: UInt64)>((nil, nil, 0))

    /// One source of counts for the process: a map closed and opened again (`LocalRecordMaps` closes the least
    /// recently used) is a new instance, and starting from a value no instance returned before, it never gives a
    /// caller a count it kept from the map's earlier instance, whatever was committed in between.
    private static let counts = Mutex<UInt64>(0)

    private static func nextCount() -> UInt64 {
        counts.withLock { count in
            count += 1
            return count
        }
    }

    init(path: String) { self.path = path }

    func with<R>(_ body: (SQLiteConnection) throws -> R) throws -> R {
        let connection = try idle.withLock { $0.popLast() } ?? LocalRecordMap.mapping { try SQLiteConnection(path: path, create: false) }
        defer {
            idle.withLock { idle in if idle.count < Self.kept { idle.append(connection) } }
        }
        return try body(connection)
    }

    /// A count that differs from every earlier result whenever a commit to the
    /// map (by this process or another) may have come between: a caller that
    /// read the map after getting a count, and gets the same count again, knows
    /// nothing was committed since.
    ///
    /// SQLite's `PRAGMA data_version` changes on a connection when another
    /// connection commits. One connection of its own answers every call (the
    /// writer commits, and a pooled reader's value means something only to
    /// that reader: counting through the pool moved the count on whenever a
    /// reader that had not seen the latest value took its turn). The count
    /// moves on, to the next value of a process-wide sequence, exactly when
    /// that connection's value changes, so it stays the same while nothing is
    /// committed and no commit after a count was returned goes unseen.
    func changeCount() throws -> UInt64 {
        try counter.withLock { state in
            if state.connection == nil {
                state.connection = try LocalRecordMap.mapping { try SQLiteConnection(path: path, create: false) }
            }
            guard let version = try state.connection?.query("PRAGMA data_version").first?.first?.integer else {
                throw SQLiteError(.failed, "PRAGMA data_version returned no value")
            }
            if state.seen != version || state.count == 0 {
                state.seen = version
                state.count = Self.nextCount()
            }
            return state.count
        }
    }
}
