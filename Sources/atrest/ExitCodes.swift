import ArgumentParser
import AtRestWire
import Foundation

/// The one place RPC status codes and CLI errors become exit codes.
enum ExitCodes {
    static let ok: Int32 = 0
    static let other: Int32 = 1
    static let usage: Int32 = 2
    static let notFound: Int32 = 3
    static let denied: Int32 = 4
    static let unavailable: Int32 = 5
    static let precondition: Int32 = 6

    static func code(for status: StatusCode) -> Int32 {
        switch status {
        case .ok: ok
        case .invalidArgument, .outOfRange: usage
        case .notFound: notFound
        case .unauthenticated, .permissionDenied: denied
        case .unavailable, .deadlineExceeded, .resourceExhausted, .cancelled: unavailable
        case .failedPrecondition, .alreadyExists, .aborted: precondition
        default: other
        }
    }

    /// Prints what went wrong (stderr; help text to stdout) and returns the exit code.
    static func report(_ error: any Error) -> Int32 {
        if let status = error as? RPCStatus {
            var text = "error: \(status.message.isEmpty ? "\(status.code)" : status.message)"
            if status.code == .unauthenticated { text += "\nhint: log in again with `atrest login`" }
            if status.code == .unavailable || status.code == .deadlineExceeded {
                text += "\nhint: is the service running at the endpoint? (--endpoint, or the config file)"
            }
            printError(text)
            return code(for: status.code)
        }
        if let failure = error as? CLIFailure {
            printError("error: \(failure.message)")
            return failure.exitCode
        }
        let parserCode = AtrestCommand.exitCode(for: error)
        let message = AtrestCommand.fullMessage(for: error)
        if parserCode == .success {
            if !message.isEmpty { print(message) }
            return ok
        }
        printError(message)
        // ArgumentParser's validation errors (EX_USAGE 64) are our usage code.
        return parserCode.rawValue == 64 ? usage : (parserCode.rawValue == 1 ? other : parserCode.rawValue)
    }

    static func printError(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}

/// A CLI-side failure with its exit code (bad config file, unreadable secret, ...).
struct CLIFailure: Error {
    var message: String
    var exitCode: Int32 = ExitCodes.other
}
