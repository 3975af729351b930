import AtRestSQLite
import Foundation
import Synchronization

/// The embedded store a user would otherwise pick for entities: SQLite in
/// WAL mode with `synchronous=FULL`, the same entities as JSON rows with a
/// (pk, rk) primary key, one transaction per insert, callers each taking a
/// connection of a pool (one per caller), on threads of their own.
enum SQLiteEntityBaseline {
    static func open(_ path: String) throws -> SQLiteConnection {
        let connection = try SQLiteConnection(path: path, create: true)
        try connection.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL")
        return connection
    }

    /// Inserts/s by `callers` for `seconds`, rows spread over `partitions`, and the connections used.
    static func inserts(path: String, callers: Int, partitions: Int, seconds: Double, row: String) throws -> Double {
        try open(path).execute("CREATE TABLE IF NOT EXISTS entities (pk TEXT NOT NULL, rk TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (pk, rk)) WITHOUT ROWID")
        let pool = try (0..<callers).map { _ in try open(path) }
        let next = Atomic<Int>(0), failures = Mutex<[String]>([])
        let start = BenchClock.now(), deadline = start + seconds
        let group = DispatchGroup()
        for connection in pool {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                while BenchClock.now() < deadline {
                    let i = next.add(1, ordering: .relaxed).newValue
                    do {
                        try connection.query("INSERT INTO entities (pk, rk, body) VALUES (?, ?, ?)",
                                             [.text("p\(partitions)-\(i % partitions)"), .text("r\(i)"), .text(row)])
                    } catch {
                        failures.withLock { $0.append("\(error)") }
                        return
                    }
                }
            }
        }
        group.wait()
        if let failure = failures.withLock({ $0.first }) { throw BenchError(failure) }
        return Double(next.load(ordering: .relaxed)) / (BenchClock.now() - start)
    }

    /// Rows/s reading one partition in key order (and parsing each row's JSON, as a user would).
    static func scan(path: String, partition: String) throws -> (rows: Int, perSecond: Double) {
        let connection = try open(path)
        let start = BenchClock.now()
        let rows = try connection.query("SELECT rk, body FROM entities WHERE pk = ? ORDER BY rk", [.text(partition)])
        for row in rows { _ = try JSONSerialization.jsonObject(with: Data((row[1].text ?? "{}").utf8)) }
        return (rows.count, Double(rows.count) / (BenchClock.now() - start))
    }
}
