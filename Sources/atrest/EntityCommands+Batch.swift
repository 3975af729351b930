import ArgumentParser
import AtRestClient
import AtRestWire
import Foundation

extension EntityCommands {
    struct Batch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply up to 100 operations on one partition, all or none.",
            discussion: """
                FILE has one JSON object per line: {"op": "insert", "PartitionKey": "p", "RowKey": "r", "props": {"Age": "int32:36", "Name": "Ada"}}; \
                op is insert, replace, merge, upsert, upsert-merge or delete; "ifMatch" (an ETag or "*", the default) for replace, merge and delete.
                """)
        @Argument(help: "Table name.") var table: String
        @Argument(help: "JSON lines file ('-': standard input).") var file: String
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions

        static let kinds: [String: EntityOperation.Kind] = ["insert": .insert, "replace": .replace, "merge": .merge, "upsert": .insertOrReplace,
                                                            "upsert-merge": .insertOrMerge, "delete": .delete]

        func run() async throws {
            let data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : FileManager.default.contents(atPath: file)
            guard let data else { throw CLIFailure(message: "cannot read \(file)", exitCode: ExitCodes.usage) }
            let lines = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).filter { !$0.allSatisfy(\.isWhitespace) }
            let operations = try lines.enumerated().map { try Self.operation(String($1), line: $0 + 1) }
            let results = try await withTables(global, account) { try await $0.batch(table, operations) }
            global.output.table(["operation", "op", "PartitionKey", "RowKey", "ETag"], zip(operations, results).enumerated().map { index, pair in
                [index, Self.kinds.first { $0.value.rawValue == pair.0.kind }?.key ?? "?", pair.1.partitionKey, pair.1.rowKey, pair.1.etag]
            })
        }

        static func operation(_ line: String, line number: Int) throws -> EntityOperation {
            func bad(_ what: String) -> CLIFailure { CLIFailure(message: "line \(number): \(what)", exitCode: ExitCodes.usage) }
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { throw bad("not a JSON object") }
            guard let op = object["op"] as? String, let kind = kinds[op] else { throw bad("\"op\" is one of \(kinds.keys.sorted().joined(separator: ", "))") }
            guard let pk = object["PartitionKey"] as? String, let rk = object["RowKey"] as? String else { throw bad("needs \"PartitionKey\" and \"RowKey\" strings") }
            var properties: [EntityProperty] = []
            for (name, value) in (object["props"] as? [String: Any] ?? [:]).sorted(by: { $0.key < $1.key }) {
                guard let text = value as? String else { throw bad("property \(name): give its value as a string \"TYPE:VALUE\"") }
                properties.append(try EntityText.property("\(name)=\(text)"))
            }
            let needsMatch: Set<EntityOperation.Kind> = [.replace, .merge, .delete]
            return EntityOperation(kind: kind.rawValue, entity: Entity(partitionKey: pk, rowKey: rk, properties: properties),
                                   ifMatch: needsMatch.contains(kind) ? (object["ifMatch"] as? String ?? "*") : "")
        }
    }
}
