/// A failed SQLite call: the call, SQLite's result code and its message
/// (which never holds bound values: statements carry parameters, not data).
public struct SQLiteError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// SQLITE_CANTOPEN: the file is missing (opened without create) or unreadable.
        public static let cannotOpen = Code(rawValue: "cannotOpen")
        /// SQLITE_BUSY / SQLITE_LOCKED after the busy handler gave up.
        public static let busy = Code(rawValue: "busy")
        /// SQLITE_CONSTRAINT: a unique or check constraint refused a row.
        public static let constraint = Code(rawValue: "constraint")
        /// SQLITE_CORRUPT / SQLITE_NOTADB: the file is not an intact database.
        public static let corrupt = Code(rawValue: "corrupt")
        /// Anything else; the message names SQLite's code.
        public static let failed = Code(rawValue: "failed")
    }

    public var code: Code
    /// SQLite's extended result code.
    public var result: Int32
    public var message: String

    public init(_ code: Code, result: Int32 = 0, _ message: String) {
        self.code = code
        self.result = result
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
