internal import CSQLite
import Glibc

/// One SQLite connection to one database file, with its prepared
/// statements cached by SQL text. Not thread-safe: the owner serialises
/// every use (one task or thread at a time), as SQLite's multi-thread mode
/// requires. Closed in `deinit`.
///
/// Waiting for another connection's write lock (another process on the
/// same file) spins in short sleeps (`busyHandler`: 50-500 µs, up to
/// `busyTimeout`) rather than SQLite's default back-off, which sleeps up
/// to 100 ms a time once a few tries failed.
public final class SQLiteConnection: @unchecked Sendable {
    private let db: OpaquePointer
    private var statements: [String: OpaquePointer] = [:]
    public let path: String
    /// How long a statement waits for a lock another connection holds.
    public static let busyTimeout: Duration = .seconds(10)

    /// Opens `path` read-write; `create` makes the file when it is missing
    /// (otherwise that is `.cannotOpen`).
    public init(path: String, create: Bool) throws {
        self.path = path
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        let rc = sqlite3_open_v2(path, &handle, flags, nil)
        guard rc == SQLITE_OK, let handle else {
            let error = Self.error(rc, handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory", "open \(path)")
            sqlite3_close_v2(handle)
            throw error
        }
        db = handle
        sqlite3_busy_handler(db, Self.busyHandler, nil)
    }

    deinit {
        for statement in statements.values { sqlite3_finalize(statement) }
        sqlite3_close_v2(db)
    }

    /// Runs `sql` (one or more statements without parameters or results).
    public func execute(_ sql: String) throws {
        let rc = sqlite3_exec(db, sql, nil, nil, nil)
        guard rc == SQLITE_OK else { throw failure(rc, "exec") }
    }

    /// Runs one statement with `parameters` bound to `?1`, `?2`, … and
    /// returns its rows (each row's columns in order).
    @discardableResult
    public func query(_ sql: String, _ parameters: [SQLiteValue] = []) throws -> [[SQLiteValue]] {
        let statement = try prepared(sql)
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        for (index, value) in parameters.enumerated() { try bind(value, at: Int32(index + 1), statement) }
        var rows: [[SQLiteValue]] = []
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { return rows }
            guard rc == SQLITE_ROW else { throw failure(rc, "step") }
            rows.append((0..<sqlite3_column_count(statement)).map { column(statement, $0) })
        }
    }

    /// Runs one statement and returns the first column of its rows as text
    /// (a blob's bytes decoded as UTF-8; null or a number as ""): a listing
    /// of keys without an array per row.
    public func texts(_ sql: String, _ parameters: [SQLiteValue] = []) throws -> [String] {
        let statement = try prepared(sql)
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        for (index, value) in parameters.enumerated() { try bind(value, at: Int32(index + 1), statement) }
        var out: [String] = []
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { return out }
            guard rc == SQLITE_ROW else { throw failure(rc, "step") }
            out.append(String(decoding: columnBytes(statement, 0) ?? UnsafeRawBufferPointer(start: nil, count: 0), as: UTF8.self))
        }
    }

    /// Runs `sql` (one statement with one parameter, `?1`) once per key of
    /// `keys`, and calls `body` with the key and the first column of its
    /// first row when that is a blob or text (as its bytes, valid only
    /// during the call); a key without such a row is skipped. The point
    /// reads of a batch, without a row array, a parameter array or a bound
    /// copy of each key.
    public func lookup(_ sql: String, keys: some Sequence<String>,
                       _ body: (String, UnsafeRawBufferPointer) throws -> Void) throws {
        let statement = try prepared(sql)
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        for key in keys {
            sqlite3_reset(statement)
            var text = key
            try text.withUTF8 { utf8 in
                // SQLITE_STATIC (nil): the bytes outlive the step below, which is all that reads them. An empty
                // key still needs a non-null pointer to bind as text, not NULL (SQLite reads none of it).
                let start = UnsafeRawPointer(utf8.baseAddress) ?? UnsafeRawPointer(bitPattern: 1)!
                let bound = sqlite3_bind_text(statement, 1, start.assumingMemoryBound(to: CChar.self), Int32(utf8.count), nil)
                guard bound == SQLITE_OK else { throw failure(bound, "bind") }
                let rc = sqlite3_step(statement)
                if rc == SQLITE_DONE { return }
                guard rc == SQLITE_ROW else { throw failure(rc, "step") }
                guard let value = columnBytes(statement, 0) else { return }
                try body(key, value)
            }
        }
    }

    /// Runs `body` in one write transaction (`BEGIN IMMEDIATE`: the write
    /// lock is taken first, so the reads inside see what the writes
    /// change); commits when it returns, rolls back when it throws.
    public func transaction<R>(_ body: () throws -> R) throws -> R {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    // MARK: C details

    private func prepared(_ sql: String) throws -> OpaquePointer {
        if let statement = statements[sql] { return statement }
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw failure(rc, "prepare") }
        statements[sql] = statement
        return statement
    }

    private func bind(_ value: SQLiteValue, at index: Int32, _ statement: OpaquePointer) throws {
        let rc: Int32
        switch value {
        case .null: rc = sqlite3_bind_null(statement, index)
        case .integer(let integer): rc = sqlite3_bind_int64(statement, index, integer)
        case .text(let text): rc = sqlite3_bind_text(statement, index, text, -1, atrest_sqlite_transient())
        case .blob(let bytes):
            // A zero-length blob still needs a non-null pointer to bind as a blob, not NULL.
            rc = bytes.withUnsafeBytes { raw in
                sqlite3_bind_blob(statement, index, raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(raw.count), atrest_sqlite_transient())
            }
        }
        guard rc == SQLITE_OK else { throw failure(rc, "bind") }
    }

    /// The bytes of a blob or text column of the current row (valid until the next step or reset); nil for null or a number.
    private func columnBytes(_ statement: OpaquePointer, _ index: Int32) -> UnsafeRawBufferPointer? {
        let pointer: UnsafeRawPointer?
        switch sqlite3_column_type(statement, index) {
        case SQLITE_BLOB: pointer = sqlite3_column_blob(statement, index)
        case SQLITE_TEXT: pointer = sqlite3_column_text(statement, index).map(UnsafeRawPointer.init)
        default: return nil
        }
        return UnsafeRawBufferPointer(start: pointer, count: pointer == nil ? 0 : Int(sqlite3_column_bytes(statement, index)))
    }

    private func column(_ statement: OpaquePointer, _ index: Int32) -> SQLiteValue {
        switch sqlite3_column_type(statement, index) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(statement, index))
        case SQLITE_TEXT:
            let count = Int(sqlite3_column_bytes(statement, index))
            guard let pointer = sqlite3_column_text(statement, index) else { return .text("") }
            return .text(String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let pointer = sqlite3_column_blob(statement, index)
            let count = Int(sqlite3_column_bytes(statement, index))
            return .blob(pointer.map { Array(UnsafeRawBufferPointer(start: $0, count: count)) } ?? [])
        default: return .null
        }
    }

    private func failure(_ rc: Int32, _ call: String) -> SQLiteError {
        Self.error(rc, String(cString: sqlite3_errmsg(db)), "\(call) \(path)")
    }

    static func error(_ rc: Int32, _ message: String, _ call: String) -> SQLiteError {
        let code: SQLiteError.Code = switch rc & 0xFF {
        case SQLITE_CANTOPEN: .cannotOpen
        case SQLITE_BUSY, SQLITE_LOCKED: .busy
        case SQLITE_CONSTRAINT: .constraint
        case SQLITE_CORRUPT, SQLITE_NOTADB: .corrupt
        default: .failed
        }
        return SQLiteError(code, result: rc, "SQLite \(call): \(message) (\(String(cString: sqlite3_errstr(rc))))")
    }

    /// SQLite's busy callback: sleep briefly and retry until `busyTimeout`
    /// (in tries: 50 µs for the first 20, then 500 µs).
    private static let busyHandler: @convention(c) (UnsafeMutableRawPointer?, Int32) -> Int32 = { _, tries in
        let timeout = Int64(SQLiteConnection.busyTimeout.components.seconds) * 1_000_000
        let spent = Int64(min(tries, 20)) * 50 + Int64(max(0, tries - 20)) * 500
        if spent >= timeout { return 0 }
        usleep(tries < 20 ? 50 : 500)
        return 1
    }
}
