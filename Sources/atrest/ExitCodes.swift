import ArgumentParser
import AtRestWire
import Foundation

/// The one place RPC status codes and CLI errors become exit codes and the
/// error text (docs/CLI.md "Exit codes" and "Errors").
enum ExitCodes {
    static let ok: Int32 = 0
    static let other: Int32 = 1
    static let usage: Int32 = 2
    static let notFound: Int32 = 3
    static let denied: Int32 = 4
    static let unavailable: Int32 = 5
    static let precondition: Int32 = 6
    /// Stored data failed its integrity check (tampered or corrupted: DATA_LOSS).
    static let integrity: Int32 = 7

    static func code(for status: StatusCode) -> Int32 {
        switch status {
        case .ok: ok
        case .invalidArgument, .outOfRange: usage
        case .notFound: notFound
        case .unauthenticated, .permissionDenied: denied
        case .unavailable, .deadlineExceeded, .resourceExhausted, .cancelled: unavailable
        case .failedPrecondition, .alreadyExists, .aborted: precondition
        case .dataLoss: integrity
        default: other
        }
    }

    /// The status name `--json` errors carry for a CLI-side failure with `exitCode`.
    static func statusName(for exitCode: Int32) -> String {
        switch exitCode {
        case usage: "INVALID_ARGUMENT"
        case notFound: "NOT_FOUND"
        case denied: "UNAUTHENTICATED"
        case unavailable: "UNAVAILABLE"
        case precondition: "FAILED_PRECONDITION"
        case integrity: "DATA_LOSS"
        default: "UNKNOWN"
        }
    }

    /// What to do next, from the status and its `reason` detail (nil: nothing useful to add).
    static func hint(for status: RPCStatus) -> String? {
        switch (status.code, status.details["reason"]) {
        case (_, "curveKeyRefused"):
            "the endpoint does not allow this client's CURVE key: ask its operator to add the public key of --curve-key-file to its allow file"
        case (_, "handshakeFailed"), (_, "notSent"), (.deadlineExceeded, _):
            "no answer: is the service running at the endpoint, is the endpoint CURVE-enabled and is --curve-server-key right? "
                + "(`atrest config show` shows what the CLI uses)"
        case (.unavailable, _):
            "is the service running at the endpoint? (--endpoint, or `atrest config show`)"
        case (.unauthenticated, _):
            "log in with `atrest login --user NAME [--tenant TENANT]`"
        case (.dataLoss, _):
            "the stored data failed its integrity check (tampered or corrupted); restore it from a backup"
        default:
            nil
        }
    }

    /// Prints what went wrong and returns the exit code: text on stderr, or
    /// with `--json` one object {code, message, details, exitCode} on stderr
    /// (help text goes to stdout).
    static func report(_ error: any Error, json: Bool = CommandLine.arguments.contains("--json")) -> Int32 {
        if let status = error as? RPCStatus {
            let message = status.message.isEmpty ? "\(status.code)" : status.message
            let exit = code(for: status.code)
            emit(code: "\(status.code)", message: message, details: status.details, hint: hint(for: status), exit: exit, json: json)
            return exit
        }
        if let failure = error as? CLIFailure {
            emit(code: statusName(for: failure.exitCode), message: failure.message, details: [:], hint: failure.hint,
                 exit: failure.exitCode, json: json)
            return failure.exitCode
        }
        let parserCode = AtrestCommand.exitCode(for: error)
        let message = AtrestCommand.fullMessage(for: error)
        if parserCode == .success {
            if !message.isEmpty { print(message) }
            return ok
        }
        // ArgumentParser's validation errors (EX_USAGE 64) are our usage code.
        let exit = parserCode.rawValue == 64 ? usage : (parserCode.rawValue == 1 ? other : parserCode.rawValue)
        if json {
            emit(code: statusName(for: exit), message: message, details: [:], hint: nil, exit: exit, json: true)
        } else {
            printError(message)
        }
        return exit
    }

    private static func emit(code: String, message: String, details: [String: String], hint: String?, exit: Int32, json: Bool) {
        if json {
            var object: [String: Any] = ["code": code, "message": message, "details": details, "exitCode": Int(exit)]
            if let hint { object["hint"] = hint }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
            FileHandle.standardError.write(data + Data("\n".utf8))
        } else {
            printError("error: \(message)" + (hint.map { "\nhint: \($0)" } ?? ""))
        }
    }

    static func printError(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}

/// A CLI-side failure with its exit code (bad config file, unreadable secret, ...).
struct CLIFailure: Error {
    var message: String
    var exitCode: Int32 = ExitCodes.other
    /// What to do next, printed as `hint:` (and `hint` in `--json` errors).
    var hint: String?
}
