import ArgumentParser
import AtRestClient
import AtRestWire
import Foundation

extension QueueCommands {
    struct PutMessage: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "put", abstract: "Put a message (TEXT or --file, at most 64 KiB).")
        @Argument(help: "Queue name.") var queue: String
        @Argument(help: "Message text.") var text: String?
        @Option(help: "Read the body from this file.") var file: String?
        @Option(help: "Time to live in seconds (1-604800; -1: never; default 7 days).") var ttl: Int64 = 0
        @Option(help: "Invisible for this many seconds first (0-604800).") var delay: Int64 = 0
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let body: [UInt8]
            switch (text, file) {
            case (let text?, nil): body = Array(text.utf8)
            case (nil, let file?):
                guard let data = FileManager.default.contents(atPath: file) else {
                    throw CLIFailure(message: "cannot read \(file)", exitCode: ExitCodes.usage)
                }
                body = [UInt8](data)
            default: throw CLIFailure(message: "give the body as TEXT or --file F (one of them)", exitCode: ExitCodes.usage)
            }
            let message = try await withQueues(global, account) { try await $0.put(queue, body, ttlSeconds: ttl, delaySeconds: delay) }
            printMessages([message], global)
        }
    }

    struct GetMessages: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "get", abstract: "Receive messages: invisible to others for --visibility seconds.")
        @Argument(help: "Queue name.") var queue: String
        @Option(help: "Messages to receive (1-32).") var count: UInt32 = 1
        @Option(help: "Visibility timeout in seconds (1-604800).") var visibility: Int64 = 30
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            printMessages(try await withQueues(global, account) { try await $0.get(queue, count: count, visibilitySeconds: visibility) }, global)
        }
    }

    struct PeekMessages: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "peek", abstract: "Look at visible messages without receiving them.")
        @Argument(help: "Queue name.") var queue: String
        @Option(help: "Messages to show (1-32).") var count: UInt32 = 1
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            printMessages(try await withQueues(global, account) { try await $0.peek(queue, count: count) }, global)
        }
    }

    struct UpdateMessage: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "update", abstract: "New visibility timeout (and body) for a received message.")
        @Argument(help: "Queue name.") var queue: String
        @Argument(help: "Message id.") var messageID: String
        @Option(help: "The message's current pop receipt.") var popReceipt: String
        @Option(help: "Invisible for this many seconds from now (0-604800).") var visibility: Int64 = 0
        @Option(help: "New message text.") var text: String?
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let message = try await withQueues(global, account) {
                try await $0.update(queue, messageID: messageID, popReceipt: popReceipt, visibilitySeconds: visibility, body: text.map { Array($0.utf8) })
            }
            printMessages([message], global)
        }
    }

    struct DeleteMessage: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete-message", abstract: "Delete a received message.", aliases: ["rm"])
        @Argument(help: "Queue name.") var queue: String
        @Argument(help: "Message id.") var messageID: String
        @Option(help: "The message's current pop receipt.") var popReceipt: String
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            try await withQueues(global, account) { try await $0.delete(queue, messageID: messageID, popReceipt: popReceipt) }
            global.output.record(["message_id": messageID, "deleted": true])
        }
    }
}

/// Messages as a table (body as text) or JSON (`body` when it is UTF-8, always `body_base64`).
func printMessages(_ messages: [QueueMessage], _ global: GlobalOptions) {
    let json = global.output.json
    var columns = ["message_id", "dequeue_count", "next_visible", "expires", "pop_receipt", "body"]
    if json { columns.append("body_base64") }
    var rows: [[Any]] = []
    for message in messages {
        let text = String(validating: message.body, as: UTF8.self)
        let body: Any = json ? (text.map { $0 as Any } ?? NSNull()) : (text ?? "<\(message.body.count) bytes, not UTF-8>")
        var row: [Any] = [message.messageID, message.dequeueCount, isoTime(message.nextVisibleAtMs), isoTimeOrNever(message.expiresAtMs),
                          message.popReceipt, body]
        if json { row.append(Data(message.body).base64EncodedString()) }
        rows.append(row)
    }
    global.output.table(columns, rows)
}
