/// The fields of one protobuf message by field number.
///
/// Absent fields read as their proto3 default (zero, empty, false), so a
/// mapping reads the same whether the sender set a default or left it out.
public struct WireFields: Sendable, Equatable {
    public var values: [UInt32: WireValue]

    public init(_ values: [UInt32: WireValue] = [:]) {
        self.values = values
    }

    public subscript(number: UInt32) -> WireValue? {
        get { values[number] }
        set { values[number] = newValue }
    }

    public func string(_ number: UInt32) -> String {
        if case .string(let value)? = values[number] { return value }
        return ""
    }

    public func bytes(_ number: UInt32) -> [UInt8] {
        if case .bytes(let value)? = values[number] { return value }
        return []
    }

    public func bool(_ number: UInt32) -> Bool {
        if case .bool(let value)? = values[number] { return value }
        return false
    }

    public func uint64(_ number: UInt32) -> UInt64 {
        switch values[number] {
        case .uint(let value)?: return value
        case .int(let value)?: return UInt64(truncatingIfNeeded: value)
        default: return 0
        }
    }

    public func uint32(_ number: UInt32) -> UInt32 { UInt32(truncatingIfNeeded: uint64(number)) }

    public func int64(_ number: UInt32) -> Int64 {
        switch values[number] {
        case .int(let value)?: return value
        case .uint(let value)?: return Int64(truncatingIfNeeded: value)
        default: return 0
        }
    }

    public func int32(_ number: UInt32) -> Int32 { Int32(truncatingIfNeeded: int64(number)) }

    public func double(_ number: UInt32) -> Double {
        if case .double(let value)? = values[number] { return value }
        return 0
    }

    /// Whether a nested message field was sent.
    public func has(_ number: UInt32) -> Bool { values[number] != nil }

    /// A nested message, or nil when it was not sent.
    public func message<M: WireMessage>(_ number: UInt32, as type: M.Type = M.self) throws -> M? {
        guard case .message(let fields)? = values[number] else { return nil }
        return try M(wire: fields)
    }

    /// The elements of a repeated field.
    public func list(_ number: UInt32) -> [WireValue] {
        if case .list(let items)? = values[number] { return items }
        return []
    }

    public func messages<M: WireMessage>(_ number: UInt32, as type: M.Type = M.self) throws -> [M] {
        try list(number).map { item in
            guard case .message(let fields) = item else {
                throw WireError(.malformed, "field \(number) of \(M.protoName) is not a message list")
            }
            return try M(wire: fields)
        }
    }

    public func strings(_ number: UInt32) -> [String] {
        list(number).compactMap { if case .string(let s) = $0 { return s } else { return nil } }
    }

    /// A `map<string, string>` field.
    public func stringMap(_ number: UInt32) -> [String: String] {
        var result: [String: String] = [:]
        for item in list(number) {
            if case .message(let entry) = item {
                result[entry.string(1)] = entry.string(2)
            }
        }
        return result
    }
}

extension WireFields: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (UInt32, WireValue)...) {
        self.init(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}
