import Logging

/// Logging for every AtRest process: swift-log to stderr (stdout carries only
/// the ready line and command output), level from `--log-level` or
/// ATREST_LOG_LEVEL, default info. Lines written while serving a call carry
/// its `call_id` (`CallLog`).
public enum LogSetup {
    public static func bootstrap(level: String? = nil) {
        let chosen = Logger.Level(rawValue: (level ?? Environment.get("ATREST_LOG_LEVEL") ?? "info").lowercased()) ?? .info
        LoggingSystem.bootstrap({ label, provider in
            var handler = StreamLogHandler.standardError(label: label, metadataProvider: provider)
            handler.logLevel = chosen
            return handler
        }, metadataProvider: CallLog.metadataProvider)
    }
}

/// Reads environment variables.
public enum Environment {
    public static func get(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }
}

import Glibc
