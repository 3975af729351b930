/// The rules of queue calls (the issue's, as cloud storage queues have
/// them); every violation is `StorageError(.invalidArgument)` naming the rule.
public enum QueueLimits {
    public static let maxBodyBytes = 64 << 10
    public static let maxSeconds: Int64 = 7 * 24 * 3600
    public static let messagesPerCall = 1...32
    public static let getVisibility: ClosedRange<Int64> = 1...maxSeconds
    public static let updateVisibility: ClosedRange<Int64> = 0...maxSeconds
    public static let delay: ClosedRange<Int64> = 0...maxSeconds
    public static let timeToLive: ClosedRange<Int64> = 1...maxSeconds
    public static let metadataBytes = 8 << 10
    public static let listPage = 1...1000

    /// 3-63 characters of lowercase letters, digits and single hyphens,
    /// starting and ending with a letter or digit.
    public static func validate(queueName name: String) throws { try validate(name: name, of: "queue") }

    /// The rule of queue names for a resource `kind` ("queue", "disk"): its name in the error.
    static func validate(name: String, of kind: String) throws {
        guard isValid(name: name) else {
            throw StorageError(.invalidArgument, "\(kind) name '\(name.prefix(80))' must be 3-63 characters of lowercase letters, digits and single hyphens, starting and ending with a letter or digit")
        }
    }

    /// The rule in one pass over the bytes, with no copy: every queue,
    /// disk and share call checks its name, and `String.contains("--")`
    /// (generic string searching) took 3% of a worker's CPU on a queue's
    /// peeks (session 28).
    static func isValid(name: String) -> Bool {
        var count = 0, previous: UInt8 = 0x2D  // a leading hyphen counts as a double one
        for byte in name.utf8 {
            let hyphen = byte == 0x2D
            guard (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39) || hyphen else { return false }
            if hyphen && previous == 0x2D { return false }
            previous = byte
            count += 1
        }
        return (3...63).contains(count) && previous != 0x2D
    }

    /// Keys are 1-256 characters of letters, digits and underscores, not
    /// starting with a digit; at most 8 KiB in all. `kind` names the
    /// resource in the error.
    public static func validate(metadata: [String: String], of kind: String = "queue") throws {
        var total = 0
        for (key, value) in metadata {
            let keyBytes = Array(key.utf8)
            let valid = keyBytes.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
            guard (1...256).contains(keyBytes.count), valid, !(keyBytes[0] >= 0x30 && keyBytes[0] <= 0x39) else {
                throw StorageError(.invalidArgument, "\(kind) metadata key '\(key.prefix(80))' must be 1-256 letters, digits or underscores, not starting with a digit")
            }
            total += keyBytes.count + value.utf8.count
        }
        guard total <= metadataBytes else {
            throw StorageError(.invalidArgument, "\(kind) metadata is \(total) bytes; at most \(metadataBytes) (keys and values together)")
        }
    }

    static func check(_ value: Int64, _ range: ClosedRange<Int64>, _ what: String) throws {
        guard range.contains(value) else {
            throw StorageError(.invalidArgument, "\(what) must be \(range.lowerBound)-\(range.upperBound) seconds, not \(value)")
        }
    }

    static func check(count: Int) throws {
        guard messagesPerCall.contains(count) else {
            throw StorageError(.invalidArgument, "ask for 1-32 messages at once, not \(count)")
        }
    }
}
