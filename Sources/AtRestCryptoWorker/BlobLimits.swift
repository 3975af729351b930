import AtRestWire

/// Published limits on names and metadata; a violation is INVALID_ARGUMENT
/// naming the limit, checked before any key is touched.
public enum BlobLimits {
    public static let containerName = "container names are 3-63 characters of a-z, 0-9 and '-', starting with a letter or digit"
    public static let maxBlobNameBytes = 1024
    public static let maxMetadataEntries = 64
    public static let maxMetadataKeyBytes = 128
    public static let maxMetadataValueBytes = 4096
    public static let maxMetadataTotalBytes = 8192
    public static let maxContentTypeBytes = 256
    public static let maxBlockIDBytes = 64
    /// Metadata keys with this prefix are the service's own.
    public static let reservedPrefix = "atrest."

    public static func checkContainer(_ name: String) throws(RPCStatus) {
        let bytes = Array(name.utf8)
        let ok = (3...63).contains(bytes.count)
            && bytes.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
            && bytes.first != 0x2D
        guard ok else { throw RPCStatus(.invalidArgument, "invalid container name '\(name.prefix(80))': \(containerName)") }
    }

    public static func checkBlobName(_ name: String) throws(RPCStatus) {
        let count = name.utf8.count
        guard count >= 1, count <= maxBlobNameBytes else {
            throw RPCStatus(.invalidArgument, "blob name is \(count) bytes; names are 1-\(maxBlobNameBytes) bytes of UTF-8")
        }
        guard !name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw RPCStatus(.invalidArgument, "blob name contains a control character")
        }
    }

    public static func checkMetadata(_ metadata: [String: String]) throws(RPCStatus) {
        guard metadata.count <= maxMetadataEntries else {
            throw RPCStatus(.invalidArgument, "\(metadata.count) metadata entries; at most \(maxMetadataEntries) are allowed")
        }
        var total = 0
        for (key, value) in metadata {
            let keyBytes = Array(key.utf8)
            guard !keyBytes.isEmpty, keyBytes.count <= maxMetadataKeyBytes,
                  keyBytes.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x5F || $0 == 0x2E })
            else {
                throw RPCStatus(.invalidArgument, "metadata key '\(key.prefix(80))' is invalid: 1-\(maxMetadataKeyBytes) characters of A-Z a-z 0-9 - _ .")
            }
            guard !key.lowercased().hasPrefix(reservedPrefix) else {
                throw RPCStatus(.invalidArgument, "metadata key '\(key)' uses the reserved prefix '\(reservedPrefix)'")
            }
            guard value.utf8.count <= maxMetadataValueBytes else {
                throw RPCStatus(.invalidArgument, "metadata value of '\(key)' is \(value.utf8.count) bytes; at most \(maxMetadataValueBytes) are allowed")
            }
            total += keyBytes.count + value.utf8.count
        }
        guard total <= maxMetadataTotalBytes else {
            throw RPCStatus(.invalidArgument, "metadata is \(total) bytes in all; at most \(maxMetadataTotalBytes) are allowed")
        }
    }

    public static func checkContentType(_ type: String) throws(RPCStatus) {
        guard type.utf8.count <= maxContentTypeBytes else {
            throw RPCStatus(.invalidArgument, "content type is \(type.utf8.count) bytes; at most \(maxContentTypeBytes) are allowed")
        }
    }

    public static func checkContentHash(_ hash: [UInt8]) throws(RPCStatus) {
        guard hash.isEmpty || hash.count == 32 else {
            throw RPCStatus(.invalidArgument, "content hash must be a 32-byte SHA-256, got \(hash.count) bytes")
        }
    }
}
