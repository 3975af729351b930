/// The rules of table calls (the issue's, as cloud tables have them); every
/// violation is `StorageError(.invalidArgument)` naming the rule.
public enum TableLimits {
    public static let maxProperties = 252
    public static let maxEntityBytes = 1 << 20
    public static let maxKeyBytes = 1024
    public static let maxBatchOperations = 100
    public static let queryPage = 1...1000
    public static let listPage = 1...1000
    /// Names the store keeps for itself: not property names.
    public static let reservedNames: Set<String> = ["PartitionKey", "RowKey", "Timestamp", "ETag"]

    /// 3-63 letters and digits, starting with a letter; case-insensitive
    /// ("Orders" and "orders" are one table), kept as created.
    public static func validate(tableName name: String) throws {
        let bytes = Array(name.utf8)
        let alphanumeric = bytes.allSatisfy { isLetter($0) || ($0 >= 0x30 && $0 <= 0x39) }
        guard (3...63).contains(bytes.count), alphanumeric, isLetter(bytes[0]) else {
            throw StorageError(.invalidArgument, "table name '\(name.prefix(80))' must be 3-63 letters and digits, starting with a letter")
        }
        guard name.lowercased() != "tables" else { throw StorageError(.invalidArgument, "table name 'tables' is reserved") }
    }

    /// Up to 1 KiB of UTF-8, without `/`, `\`, `#`, `?` or control characters.
    public static func validate(key: String, _ what: String) throws {
        guard key.utf8.count <= maxKeyBytes else {
            throw StorageError(.invalidArgument, "\(what) is \(key.utf8.count) bytes; at most \(maxKeyBytes) (1 KiB)")
        }
        if let bad = key.unicodeScalars.first(where: { "/\\#?".unicodeScalars.contains($0) || $0.properties.generalCategory == .control }) {
            throw StorageError(.invalidArgument, "\(what) '\(key.prefix(80))' contains U+\(String(bad.value, radix: 16, uppercase: true)); keys may not contain / \\ # ? or control characters")
        }
    }

    /// 1-255 letters, digits and underscores, starting with a letter or
    /// underscore, not one of the reserved names.
    public static func validate(propertyName name: String) throws {
        let bytes = Array(name.utf8)
        let valid = bytes.allSatisfy { isLetter($0) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
        guard (1...255).contains(bytes.count), valid, isLetter(bytes[0]) || bytes[0] == 0x5F else {
            throw StorageError(.invalidArgument, "property name '\(name.prefix(80))' must be 1-255 letters, digits or underscores, starting with a letter or underscore")
        }
        guard !reservedNames.contains(name) else {
            throw StorageError(.invalidArgument, "property name '\(name)' is reserved (PartitionKey, RowKey, Timestamp and ETag are the store's)")
        }
    }

    /// Keys, property names, count, guid sizes and the encoded size.
    static func validate(_ entity: TableEntity) throws {
        try validate(key: entity.partitionKey, "PartitionKey")
        try validate(key: entity.rowKey, "RowKey")
        guard entity.properties.count <= maxProperties else {
            throw StorageError(.invalidArgument, "an entity has at most \(maxProperties) properties besides PartitionKey, RowKey and Timestamp, not \(entity.properties.count)")
        }
        for (name, value) in entity.properties {
            try validate(propertyName: name)
            if case .guid(let bytes) = value, bytes.count != 16 {
                throw StorageError(.invalidArgument, "guid property '\(name)' is \(bytes.count) bytes, not 16")
            }
        }
        let size = EntityRecord.encodedSize(entity)
        guard size <= maxEntityBytes else {
            throw StorageError(.invalidArgument, "entity (PartitionKey '\(entity.partitionKey.prefix(80))', RowKey '\(entity.rowKey.prefix(80))') is \(size) bytes encoded; at most \(maxEntityBytes) (1 MiB)")
        }
    }

    private static func isLetter(_ b: UInt8) -> Bool { (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) }
}
