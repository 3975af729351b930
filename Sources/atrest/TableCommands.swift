import ArgumentParser
import AtRestClient
import AtRestWire
import Foundation

/// `atrest table create|delete|list`.
struct TableCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "table", abstract: "Tables of an account (names, keys and properties encrypted at rest; entities: `atrest entity`).",
        subcommands: [Create.self, Delete.self, List.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a table (3-63 letters and digits, starting with a letter).")
        @Argument(help: "Table name.") var table: String
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let created = try await withTables(global, account) { try await $0.createTable(table) }
            global.output.record(["table": created.table, "created": isoTime(created.createdAtMs)])
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a table and every entity in it.")
        @Argument(help: "Table name.") var table: String
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            try await withTables(global, account) { try await $0.deleteTable(table) }
            global.output.record(["table": table, "deleted": true])
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List tables by name.", aliases: ["ls"])
        @Option(help: "Only names starting with this.") var prefix = ""
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            var tables: [TableProperties] = []
            try await withTables(global, account) { client in
                var continuation = ""
                repeat {
                    let page = try await client.listTables(prefix: prefix, continuation: continuation)
                    tables += page.tables
                    continuation = page.continuation
                } while !continuation.isEmpty
            }
            global.output.table(["table", "created"], tables.map { [$0.table, isoTime($0.createdAtMs)] })
        }
    }
}

func withTables<R>(_ global: GlobalOptions, _ account: AccountOption, _ body: (TableClient) async throws -> R) async throws -> R {
    let name = try account.resolved()
    let client = try global.client(try global.loadConfig())
    defer { client.close() }
    return try await body(TableClient(client, account: name))
}
