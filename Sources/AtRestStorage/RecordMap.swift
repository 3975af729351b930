/// A record map's name in a backend: a namespace container id (the store's
/// `a-<account hash>`) and one opaque component (`q-<queue hash>`), both
/// keyed hashes, never clear names. A record map is independent of the
/// backend container of the same id: it needs no `createContainer`, and
/// deleting the container does not touch it.
public struct RecordMapName: Hashable, Sendable, CustomStringConvertible {
    public let container: BackendContainer
    public let map: String

    public init(_ container: BackendContainer, _ map: String) throws(StorageError) {
        guard BackendName.isValidComponent(Substring(map)) else {
            throw StorageError(.invalidArgument, "record map name '\(map)' must be 1-255 bytes of [A-Za-z0-9._-], no leading '.'")
        }
        self.container = container
        self.map = map
    }

    public var description: String { "\(container.id)/\(map)" }
}

/// A condition of a `RecordBatch`, checked in the same atomic step that
/// applies the batch.
public enum RecordCondition: Hashable, Sendable {
    /// The key has no record.
    case absent(String)
    /// The key's record holds exactly these bytes.
    case equals(String, [UInt8])

    public var key: String {
        switch self {
        case .absent(let key), .equals(let key, _): key
        }
    }
}

/// One all-or-nothing change of a record map: every condition holds and
/// every set and remove is applied, durably, or nothing changes
/// (`.conditionFailed`). A key is set or removed at most once per batch.
public struct RecordBatch: Sendable, Equatable {
    public var conditions: [RecordCondition]
    public var sets: [String: [UInt8]]
    public var removes: [String]

    public init(conditions: [RecordCondition] = [], sets: [String: [UInt8]] = [:], removes: [String] = []) {
        self.conditions = conditions
        self.sets = sets
        self.removes = removes
    }

    /// The largest batch a backend must accept, in records set or removed
    /// (a queue get claims up to 32 messages: 64 changes).
    public static let maxChanges = 256
    /// Keys are 1-200 bytes of printable ASCII (0x21-0x7E), ordered by bytes.
    public static let maxKeyLength = 200
    /// Values are 1 byte to 128 KiB (an empty value cannot be told from an
    /// absent record on RADOS, whose omap comparison treats both alike).
    public static let maxValueLength = 128 << 10

    static func isValidKey(_ key: String) -> Bool {
        (1...maxKeyLength).contains(key.utf8.count) && key.utf8.allSatisfy { $0 >= 0x21 && $0 <= 0x7E }
    }

    /// `.invalidArgument` for a bad key or value, a key changed twice, or a
    /// batch that changes nothing or too much; what every backend checks first.
    public func validated() throws(StorageError) -> RecordBatch {
        let changed = Array(sets.keys) + removes
        guard !changed.isEmpty, changed.count <= Self.maxChanges else {
            throw StorageError(.invalidArgument, "a record batch sets or removes 1-\(Self.maxChanges) records, not \(changed.count)")
        }
        guard Set(changed).count == changed.count else {
            throw StorageError(.invalidArgument, "a record batch sets or removes each key at most once")
        }
        for key in changed + conditions.map(\.key) where !Self.isValidKey(key) {
            throw StorageError(.invalidArgument, "record key '\(key.prefix(40))' must be 1-\(Self.maxKeyLength) bytes of printable ASCII")
        }
        for value in sets.values where !(1...Self.maxValueLength).contains(value.count) {
            throw StorageError(.invalidArgument, "a record value is 1-\(Self.maxValueLength) bytes, not \(value.count)")
        }
        for case .equals(_, let value) in conditions where value.isEmpty {
            throw StorageError(.invalidArgument, "a record condition compares with a non-empty value (use .absent)")
        }
        return self
    }
}

/// One page of a record map in ascending key order.
public struct RecordPage: Sendable, Equatable {
    public var records: [Record]
    /// More records follow the last one: ask again with `after:` its key.
    public var more: Bool

    public init(records: [Record], more: Bool) {
        self.records = records
        self.more = more
    }
}

/// One record of a record map.
public struct Record: Sendable, Hashable {
    public var key: String
    public var value: [UInt8]

    public init(key: String, value: [UInt8]) {
        self.key = key
        self.value = value
    }
}
