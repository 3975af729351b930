import AtRestRuntime
import AtRestStorage
import Foundation

/// Tables in the offline walk: every table of the account and every entity
/// it holds, each entity record opened and checked on its own; extracted to
/// `DIR/<account>/.tables/<table>.jsonl`, one JSON object per entity
/// (`EntityJSON`).
extension Recovery {
    func recoverTables(_ account: String, _ key: AccountKey, _ tables: TableStore, _ mode: Mode, _ summary: inout RecoverySummary) async {
        let found: (tables: [TableStore.RecoveredTable], damaged: [TableStore.DamagedRecord])
        do {
            found = try await tables.recoverTables(account: account, accountKey: key)
        } catch {
            output.line("damaged account \(account): its tables cannot be listed: \(RecoveryOutput.message(error))")
            summary.damaged += 1
            return
        }
        for damaged in found.damaged {
            output.line("damaged table record \(account)/\(damaged.key): \(damaged.reason)")
            summary.damaged += 1
        }
        for table in found.tables {
            summary.tables += 1
            output.line("table \(account)/\(table.info.name)")
            let path = "\(account)/\(table.info.name)"
            do {
                let file = try extractor?.createTable(account: account, table: table.info.name)
                try await tables.recoverEntities(of: table, accountKey: key) { opened in
                    summary.entities += 1
                    switch opened {
                    case .failure(let damaged):
                        summary.damaged += 1
                        output.line("damaged entity \(path)/\(damaged.key): \(damaged.reason)")
                    case .success(let entity):
                        let line = "\(path)/\(entity.partitionKey)/\(entity.rowKey) properties=\(entity.properties.count)"
                        guard mode != .list else { return output.line("entity \(line)") }
                        let json = Array((EntityJSON.encode(entity) + "\n").utf8)
                        try json.withUnsafeBytes { try file?.write($0) }
                        output.line("good entity \(line)")
                    }
                }
                try file?.finish()
            } catch {
                output.line("damaged table \(account)/\(table.info.name): its entities cannot be read: \(RecoveryOutput.message(error))")
                summary.damaged += 1
            }
        }
    }
}

/// One entity as a line of JSON: `{"PartitionKey":…,"RowKey":…,"Timestamp":µs,
/// "properties":{"name":{"type":"int64","value":…},…}}`, properties by
/// name, types named as docs/PROTOCOL.md names them; int32, int64 and
/// datetime (µs since the Unix epoch) as JSON integers, a double as a
/// number (or "NaN", "Infinity", "-Infinity" as strings), a guid as
/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, binary as base64.
enum EntityJSON {
    static func encode(_ entity: TableEntity) -> String {
        let properties = entity.properties.sorted { $0.key < $1.key }.map { name, value in
            "\(JSONObject.quote(name)):{\"type\":\"\(value.typeName)\",\"value\":\(encode(value))}"
        }
        return "{\"PartitionKey\":\(JSONObject.quote(entity.partitionKey)),\"RowKey\":\(JSONObject.quote(entity.rowKey)),\"Timestamp\":\(entity.timestamp),"
            + "\"properties\":{\(properties.joined(separator: ","))}}"
    }

    static func encode(_ value: TableValue) -> String {
        switch value {
        case .string(let s): JSONObject.quote(s)
        case .int32(let v): "\(v)"
        case .int64(let v), .datetime(let v): "\(v)"
        case .double(let v) where v.isNaN: "\"NaN\""
        case .double(let v) where v.isInfinite: v < 0 ? "\"-Infinity\"" : "\"Infinity\""
        case .double(let v): "\(v)"
        case .bool(let v): v ? "true" : "false"
        case .guid(let g): "\"\(TableLiteral.format(guid: g))\""
        case .binary(let b): "\"\(Data(b).base64EncodedString())\""
        }
    }
}
