import AtRestSQLite
import Synchronization

/// The reading connections of one `LocalRecordMap`: each read takes an idle
/// one (opening another when none is idle) and gives it back, so reads run
/// side by side and never wait for the writing connection's commit.
final class LocalRecordMapReaders: Sendable {
    private let path: String
    private let idle = Mutex<[Reader]>([])
    /// Idle connections kept open; more are closed when given back.
    static let kept = 4

    /// A reading connection and the `PRAGMA data_version` it last gave `changeCount` (nil: none yet).
    private struct Reader {
        let connection: SQLiteConnection
        var seen: Int64?
    }

    /// What `changeCount` returns: moved on by every call that saw a new data version.
    private let changes = Mutex<UInt64>(0)

    init(path: String) { self.path = path }

    func with<R>(_ body: (SQLiteConnection) throws -> R) throws -> R {
        let reader = try take()
        defer { give(reader) }
        return try body(reader.connection)
    }

    /// A count that differs from every earlier result whenever a commit to the
    /// map (by this process or another) may have come between: a caller that
    /// read the map after getting a count, and gets the same count again, knows
    /// nothing was committed since.
    ///
    /// SQLite's `PRAGMA data_version` changes when another connection
    /// commits; the writing connection is never a reader, so on a reader it
    /// changes with every commit. Its values mean something only per
    /// connection, so each reader keeps the last one it saw, and the count
    /// moves on when any reader sees a new one. A commit after a count C was
    /// returned is missed by no later call: the reader that call uses either
    /// sees a value it has not seen (and moves the count on), or saw the
    /// commit's value in an earlier call, after the commit and so after C,
    /// which moved the count on then. A new connection has seen nothing.
    func changeCount() throws -> UInt64 {
        var reader = try take()
        defer { give(reader) }
        guard let version = try reader.connection.query("PRAGMA data_version").first?.first?.integer else {
            throw SQLiteError(.failed, "PRAGMA data_version returned no value")
        }
        return changes.withLock { count in
            if reader.seen != version {
                count += 1
                reader.seen = version
            }
            return count
        }
    }

    private func take() throws -> Reader {
        if let reader = idle.withLock({ $0.popLast() }) { return reader }
        return Reader(connection: try LocalRecordMap.mapping { try SQLiteConnection(path: path, create: false) }, seen: nil)
    }

    private func give(_ reader: Reader) {
        idle.withLock { idle in if idle.count < Self.kept { idle.append(reader) } }
    }
}
