import ArgumentParser
import AtRestClient
import AtRestWire
import Foundation

/// `atrest entity insert|replace|merge|upsert|delete|get|query|batch`.
struct EntityCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "entity", abstract: "Entities of a table: typed properties by PartitionKey and RowKey, ETags, filters, batches.",
        discussion: "A property is --prop NAME=TYPE:VALUE with TYPE string, int32, int64, double, bool, datetime (ISO 8601), guid or binary (base64); NAME=VALUE is a string.",
        subcommands: [Write.self, Replace.self, Merge.self, Upsert.self, Delete.self, Get.self, Query.self, Batch.self])

    struct Keys: ParsableArguments {
        @Argument(help: "Table name.") var table: String
        @Argument(help: "PartitionKey.") var partitionKey: String
        @Argument(help: "RowKey.") var rowKey: String
    }

    struct Write: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "insert", abstract: "Insert an entity (fails when it exists).")
        @OptionGroup var keys: Keys
        @Option(name: .customLong("prop"), help: "NAME=TYPE:VALUE (repeatable).") var props: [String] = []
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws { try await write(TableMethod.insertEntity, keys, props, "", account, global) }
    }

    struct Replace: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Replace every property of an entity.")
        @OptionGroup var keys: Keys
        @Option(name: .customLong("prop"), help: "NAME=TYPE:VALUE (repeatable).") var props: [String] = []
        @Option(help: "Only if the entity still has this ETag ('*': any).") var ifMatch = "*"
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws { try await write(TableMethod.replaceEntity, keys, props, ifMatch, account, global) }
    }

    struct Merge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set the given properties of an entity, keep the others.")
        @OptionGroup var keys: Keys
        @Option(name: .customLong("prop"), help: "NAME=TYPE:VALUE (repeatable).") var props: [String] = []
        @Option(help: "Only if the entity still has this ETag ('*': any).") var ifMatch = "*"
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws { try await write(TableMethod.mergeEntity, keys, props, ifMatch, account, global) }
    }

    struct Upsert: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Insert or replace an entity (--merge: insert or merge).")
        @OptionGroup var keys: Keys
        @Option(name: .customLong("prop"), help: "NAME=TYPE:VALUE (repeatable).") var props: [String] = []
        @Flag(help: "Keep the properties not given.") var merge = false
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            try await write(merge ? TableMethod.insertOrMergeEntity : TableMethod.insertOrReplaceEntity, keys, props, "", account, global)
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an entity.")
        @OptionGroup var keys: Keys
        @Option(help: "Only if the entity still has this ETag ('*': any).") var ifMatch = "*"
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            try await withTables(global, account) { try await $0.delete(keys.table, partitionKey: keys.partitionKey, rowKey: keys.rowKey, ifMatch: ifMatch) }
            global.output.record(["PartitionKey": keys.partitionKey, "RowKey": keys.rowKey, "deleted": true])
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an entity.")
        @OptionGroup var keys: Keys
        @Option(help: "Only these properties (comma-separated).") var select: String?
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let entity = try await withTables(global, account) {
                try await $0.get(keys.table, partitionKey: keys.partitionKey, rowKey: keys.rowKey, select: selection(select))
            }
            printEntities([entity], global.output, one: true)
        }
    }

    struct Query: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Entities matching an OData $filter, in (PartitionKey, RowKey) order.")
        @Argument(help: "Table name.") var table: String
        @Option(help: "e.g. \"PartitionKey eq 'p' and Age gt 30\" (docs/PROTOCOL.md \"Table filters\").") var filter = ""
        @Option(help: "Only these properties (comma-separated).") var select: String?
        @Option(help: "At most this many entities (default: all, fetched 1000 at a time).") var top: Int?
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            if let top, top < 1 { throw CLIFailure(message: "--top is at least 1", exitCode: ExitCodes.usage) }
            var entities: [Entity] = []
            try await withTables(global, account) { client in
                var continuation = ""
                repeat {
                    let want = top.map { min(1000, $0 - entities.count) } ?? 1000
                    let page = try await client.query(table, filter: filter, select: selection(select), top: UInt32(want), continuation: continuation)
                    entities += page.entities
                    continuation = page.continuation
                } while !continuation.isEmpty && entities.count < (top ?? .max)
            }
            printEntities(entities, global.output, one: false)
        }
    }
}

/// One write of an entity from the command line, then the entity as stored.
func write(_ method: RPCMethod<EntityRequest, Entity>, _ keys: EntityCommands.Keys, _ props: [String], _ ifMatch: String,
           _ account: AccountOption, _ global: GlobalOptions) async throws {
    let entity = Entity(partitionKey: keys.partitionKey, rowKey: keys.rowKey, properties: try props.map(EntityText.property))
    let stored = try await withTables(global, account) { try await $0.write(method, keys.table, entity, ifMatch: ifMatch) }
    printEntities([stored], global.output, one: true)
}

func selection(_ select: String?) -> [String] {
    select?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } ?? []
}
