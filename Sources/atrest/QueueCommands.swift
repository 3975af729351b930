import ArgumentParser
import AtRestClient
import AtRestWire
import Foundation

/// `atrest queue create|delete|list|show|clear|put|get|peek|update|delete-message`.
struct QueueCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue", abstract: "Message queues of an account (bodies, names and metadata encrypted at rest).",
        subcommands: [Create.self, Delete.self, List.self, Show.self, Clear.self,
                      PutMessage.self, GetMessages.self, PeekMessages.self, UpdateMessage.self, DeleteMessage.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a queue (3-63 of a-z 0-9 and single hyphens).")
        @Argument(help: "Queue name.") var queue: String
        @Option(name: .customLong("metadata"), help: "Metadata key=value (repeatable; encrypted at rest).") var metadata: [String] = []
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let pairs = try parseMetadata(metadata)
            try await withQueues(global, account) { try await $0.createQueue(queue, metadata: pairs) }
            global.output.record(["queue": queue, "created": true])
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a queue and every message in it.")
        @Argument(help: "Queue name.") var queue: String
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            try await withQueues(global, account) { try await $0.deleteQueue(queue) }
            global.output.record(["queue": queue, "deleted": true])
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List queues by name.", aliases: ["ls"])
        @Option(help: "Only names starting with this.") var prefix = ""
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            var queues: [QueueProperties] = []
            try await withQueues(global, account) { client in
                var continuation = ""
                repeat {
                    let page = try await client.listQueues(prefix: prefix, continuation: continuation)
                    queues += page.queues
                    continuation = page.continuation
                } while !continuation.isEmpty
            }
            global.output.table(["queue", "created", "metadata"], queues.map { [$0.queue, isoTime($0.createdAtMs), metadataText($0.metadata)] })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A queue's metadata and approximate message count.")
        @Argument(help: "Queue name.") var queue: String
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let properties = try await withQueues(global, account) { try await $0.properties(queue) }
            global.output.record(["queue": properties.queue, "created": isoTime(properties.createdAtMs),
                                  "approximate_messages": properties.approximateMessageCount, "metadata": metadataText(properties.metadata)])
        }
    }

    struct Clear: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete every message of a queue.")
        @Argument(help: "Queue name.") var queue: String
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            try await withQueues(global, account) { try await $0.clear(queue) }
            global.output.record(["queue": queue, "cleared": true])
        }
    }
}

func withQueues<R>(_ global: GlobalOptions, _ account: AccountOption, _ body: (QueueClient) async throws -> R) async throws -> R {
    let name = try account.resolved()
    let client = try global.client(try global.loadConfig())
    defer { client.close() }
    return try await body(QueueClient(client, account: name))
}

/// `isoTime`, with 0 as "never" (a message that never expires).
func isoTimeOrNever(_ ms: Int64) -> String { ms == 0 ? "never" : isoTime(ms) }

func metadataText(_ metadata: [String: String]) -> String {
    metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
}
