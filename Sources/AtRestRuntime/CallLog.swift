import Logging

/// The call a task is serving, so every log line written while serving it
/// carries `call_id` without each handler passing it along: `LogSetup`
/// installs a swift-log metadata provider that reads this task-local.
public enum CallLog {
    @TaskLocal public static var callID: String?

    /// Adds `call_id` to every log line written inside a call (see `LogSetup`).
    public static let metadataProvider = Logger.MetadataProvider {
        guard let callID else { return [:] }
        return ["call_id": .string(callID)]
    }

    /// Lower-case hex of a call id's bytes (how logs and `atrest status` show it).
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
