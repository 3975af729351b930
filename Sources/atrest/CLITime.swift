import ArgumentParser
import AtRestWire
import Foundation

/// A time the CLI takes: ISO 8601 (`2027-01-31T00:00:00Z`, fractional seconds
/// and offsets allowed) or, for compatibility, Unix seconds. 0 means unset.
struct CLITime: ExpressibleByArgument {
    var seconds: Int64

    init(seconds: Int64) { self.seconds = seconds }

    init?(argument: String) {
        if let unix = Int64(argument), unix >= 0 {
            seconds = unix
        } else if let micros = EntityText.micros(argument) {
            seconds = micros / 1_000_000
        } else {
            return nil
        }
    }

    static var defaultCompletionKind: CompletionKind { .default }
}

/// How a key's state reads: `expired` for an enabled key past its expiry
/// (it still unwraps, no longer wraps), else the vault's state.
func keyStateText(_ key: KeyInfo, now: Int64 = Int64(Date().timeIntervalSince1970)) -> String {
    if key.state == .enabled, key.expiresAt > 0, now >= key.expiresAt { return "expired" }
    return key.state.rawValue
}

/// ISO 8601 (UTC) for people and scripts alike; `ms` are Unix milliseconds.
func isoTime(_ ms: Int64) -> String {
    ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
}

/// ISO 8601 for Unix seconds; 0 (unset) stays empty.
func isoTime(seconds: some BinaryInteger) -> String {
    seconds == 0 ? "" : isoTime(Int64(seconds) * 1000)
}
