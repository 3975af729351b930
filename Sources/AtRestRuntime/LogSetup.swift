import Logging

/// Logging for every AtRest process: swift-log to stderr (stdout carries only
/// the ready line and command output), level from `--log-level` or
/// ATREST_LOG_LEVEL, default info; format from `--log-format` or
/// ATREST_LOG_FORMAT: `text` (swift-log's stream format) or `json` (one
/// object per line, `JSONLogHandler`). Lines written while serving a call
/// carry its `call_id` (`CallLog`) and, inside a span, its `trace_id`.
public enum LogSetup {
    public enum Format: String, CaseIterable, Sendable {
        case text, json
    }

    public static func bootstrap(level: String? = nil, format: Format? = nil, service: String = "atrest",
                                 metadataProviders: [Logger.MetadataProvider] = []) {
        let chosen = Logger.Level(rawValue: (level ?? Environment.get("ATREST_LOG_LEVEL") ?? "info").lowercased()) ?? .info
        let format = format ?? Environment.get("ATREST_LOG_FORMAT").flatMap { Format(rawValue: $0.lowercased()) } ?? .text
        let callMetadata = metadataProviders.isEmpty ? CallLog.metadataProvider : .multiplex([CallLog.metadataProvider] + metadataProviders) ?? CallLog.metadataProvider
        LoggingSystem.bootstrap({ label, provider -> any LogHandler in
            switch format {
            case .text:
                var handler = StreamLogHandler.standardError(label: label, metadataProvider: provider)
                handler.logLevel = chosen
                return handler
            case .json:
                var handler = JSONLogHandler(service: service, label: label, metadataProvider: provider, writer: .standardError)
                handler.logLevel = chosen
                return handler
            }
        }, metadataProvider: callMetadata)
    }
}

/// One JSON object per log line (docs/OPERATIONS.md "Logs"): `time` (ISO 8601
/// UTC), `level`, `service`, `logger`, `message`, `call_id` and `trace_id`
/// when the line belongs to a call or span, and the rest under `metadata`.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let service: String
    let label: String
    let writer: LineWriter

    /// Hoisted from the metadata to top-level fields.
    static let topLevel = ["call_id", "trace_id"]

    public init(service: String, label: String, metadataProvider: Logger.MetadataProvider?, writer: LineWriter) {
        self.service = service
        self.label = label
        self.metadataProvider = metadataProvider
        self.writer = writer
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        writer.write(line: Self.line(event: event, service: service, label: label,
                                     metadata: metadata.merging(metadataProvider?.get() ?? [:]) { $1 }))
    }

    static func line(event: LogEvent, service: String, label: String, metadata handlerMetadata: Logger.Metadata) -> String {
        let all = handlerMetadata.merging(event.metadata ?? [:]) { $1 }
        var json = JSONObject()
        json.add("time", ISO8601.now())
        json.add("level", event.level.rawValue)
        json.add("service", service)
        json.add("logger", label)
        json.add("message", event.message.description)
        for key in topLevel {
            if let value = all[key] { json.add(key, value.description) }
        }
        var rest = JSONObject()
        for (key, value) in all.sorted(by: { $0.key < $1.key }) where !topLevel.contains(key) {
            rest.addRaw(key, encode(value))
        }
        json.addRaw("metadata", rest.text)
        return json.text
    }

    private static func encode(_ value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let string): JSONObject.quote(string)
        case .stringConvertible(let value): JSONObject.quote(value.description)
        case .array(let values): "[" + values.map(encode).joined(separator: ",") + "]"
        case .dictionary(let members):
            members.sorted(by: { $0.key < $1.key }).reduce(into: JSONObject()) { $0.addRaw($1.key, encode($1.value)) }.text
        }
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
