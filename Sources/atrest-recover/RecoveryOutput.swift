import AtRestFrontDoor
import AtRestKeyVault
import AtRestLocalState
import AtRestStorage
import AtRestWire
import Foundation

/// What `atrest-recover` prints: one line per account, container, object,
/// queue, message, table, entity, disk, share, directory, file and damaged chunk on stdout,
/// refusals on stderr, a summary last. Names and key ids only: never key
/// material.
final class RecoveryOutput: @unchecked Sendable {
    func line(_ text: String) { print(text) }

    func refuse(_ error: any Error) {
        FileHandle.standardError.write(Data("atrest-recover: \(Self.message(error))\n".utf8))
    }

    func summary(_ summary: RecoverySummary, mode: Recovery.Mode) {
        var text = "summary accounts=\(summary.accounts) containers=\(summary.containers) objects=\(summary.objects)"
            + " queues=\(summary.queues) messages=\(summary.messages) tables=\(summary.tables) entities=\(summary.entities) disks=\(summary.disks)"
            + " shares=\(summary.shares) directories=\(summary.directories) files=\(summary.files)"
        if mode != .list { text += " bytes=\(summary.bytes)" }
        line(text + " damaged=\(summary.damaged)")
    }

    /// An error's message without its code prefix (each layer's error says what to do).
    static func message(_ error: any Error) -> String {
        switch error {
        case let error as StorageError: error.message
        case let error as VaultError: error.message
        case let error as LocalStateError: error.message
        case let error as RPCStatus: error.message
        default: "\(error)"
        }
    }
}

/// Counts of one run.
struct RecoverySummary: Sendable {
    var accounts = 0
    var containers = 0
    var objects = 0
    var queues = 0
    var messages = 0
    var tables = 0
    var entities = 0
    var disks = 0
    var shares = 0
    var directories = 0
    var files = 0
    var bytes: UInt64 = 0
    var damaged = 0
}
