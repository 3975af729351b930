/// A parsed query filter: the subset of OData `$filter` that cloud tables
/// take (docs/PROTOCOL.md "Table filters"), evaluated on decrypted entities.
public indirect enum TableFilter: Sendable, Equatable {
    case and(TableFilter, TableFilter)
    case or(TableFilter, TableFilter)
    case not(TableFilter)
    case compare(property: String, ComparisonOperator, TableValue)

    public enum ComparisonOperator: String, Sendable, CaseIterable {
        case eq, ne, gt, ge, lt, le

        /// The operator with its sides swapped (`30 lt Age` is `Age gt 30`).
        var swapped: ComparisonOperator {
            switch self {
            case .eq, .ne: self
            case .gt: .lt
            case .ge: .le
            case .lt: .gt
            case .le: .ge
            }
        }
    }

    /// Parses `text`; `TableFilterError` with the position and what was expected.
    public init(parsing text: String) throws(TableFilterError) {
        var parser = try TableFilterParser(text)
        self = try parser.parse()
    }

    /// The PartitionKey the filter fixes in its top-level `and` chain
    /// (`PartitionKey eq 'p' and …`): the query then reads only that partition.
    public var fixedPartition: String? {
        switch self {
        case .compare(property: "PartitionKey", .eq, .string(let key)): key
        case .and(let left, let right): left.fixedPartition ?? right.fixedPartition
        default: nil
        }
    }

    /// Whether the entity matches. A comparison with a property the entity
    /// lacks, or of a value of another type, is unknown (OData's null):
    /// `not` keeps it unknown, `and`/`or` decide when the other side does,
    /// and an entity whose filter stays unknown does not match.
    public func matches(_ entity: TableEntity) -> Bool { evaluate(entity) == true }

    func evaluate(_ entity: TableEntity) -> Bool? {
        switch self {
        case .and(let left, let right):
            let (l, r) = (left.evaluate(entity), right.evaluate(entity))
            if l == false || r == false { return false }
            return l == true && r == true ? true : nil
        case .or(let left, let right):
            let (l, r) = (left.evaluate(entity), right.evaluate(entity))
            if l == true || r == true { return true }
            return l == false && r == false ? false : nil
        case .not(let inner):
            return inner.evaluate(entity).map { !$0 }
        case .compare(let property, let op, let literal):
            guard let value = Self.value(of: property, in: entity), let order = Self.order(value, literal) else { return nil }
            switch op {
            case .eq: return order == 0
            case .ne: return order != 0
            case .gt: return order > 0
            case .ge: return order >= 0
            case .lt: return order < 0
            case .le: return order <= 0
            }
        }
    }

    static func value(of property: String, in entity: TableEntity) -> TableValue? {
        switch property {
        case "PartitionKey": .string(entity.partitionKey)
        case "RowKey": .string(entity.rowKey)
        case "Timestamp": .datetime(entity.timestamp)
        default: entity.properties[property]
        }
    }

    /// -1, 0 or 1; nil when the values do not compare (other types, NaN).
    /// Numbers compare across int32, int64 and double; strings, guids and
    /// binaries by bytes; false before true.
    static func order(_ a: TableValue, _ b: TableValue) -> Int? {
        switch (a, b) {
        case let (.string(x), .string(y)): return bytes(Array(x.utf8), Array(y.utf8))
        case let (.guid(x), .guid(y)), let (.binary(x), .binary(y)): return bytes(x, y)
        case let (.bool(x), .bool(y)): return x == y ? 0 : (x ? 1 : -1)
        case let (.datetime(x), .datetime(y)): return x == y ? 0 : (x < y ? -1 : 1)
        default: break
        }
        if let x = integer(a), let y = integer(b) { return x == y ? 0 : (x < y ? -1 : 1) }
        guard let x = number(a), let y = number(b), !x.isNaN, !y.isNaN else { return nil }
        return x == y ? 0 : (x < y ? -1 : 1)
    }

    private static func bytes(_ x: [UInt8], _ y: [UInt8]) -> Int {
        x == y ? 0 : (x.lexicographicallyPrecedes(y) ? -1 : 1)
    }

    private static func integer(_ v: TableValue) -> Int64? {
        switch v {
        case .int32(let i): Int64(i)
        case .int64(let i): i
        default: nil
        }
    }

    private static func number(_ v: TableValue) -> Double? {
        if case .double(let d) = v { return d }
        return integer(v).map(Double.init)
    }
}

/// A filter that does not parse: where (1-based character position) and what was expected.
public struct TableFilterError: Error, Sendable, Equatable, CustomStringConvertible {
    public var position: Int
    public var message: String

    public init(position: Int, _ message: String) {
        self.position = position
        self.message = message
    }

    public var description: String { "filter: at position \(position): \(message)" }
}
