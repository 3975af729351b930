import Foundation

/// Tables for people, JSON for scripts (`--json`).
struct Output {
    var json: Bool

    /// One record: `key: value` lines, or a JSON object. A field whose value
    /// is a nil optional is left out (no empty lines or keys).
    func record(_ given: KeyValuePairs<String, Any>) {
        let fields: [(key: String, value: Any)] = given.compactMap { field in
            guard let optional = field.value as? any OptionalField else { return field }
            return optional.wrappedField.map { (field.key, $0) }
        }
        if json {
            emitJSON(Dictionary(fields.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 }))
        } else {
            let width = fields.map(\.key.count).max() ?? 0
            for (key, value) in fields {
                print(key.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + Self.text(value))
            }
        }
    }

    /// Rows under column headers, or a JSON array of objects.
    func table(_ columns: [String], _ rows: [[Any]]) {
        if json {
            emitJSON(rows.map { row in Dictionary(zip(columns, row).map { ($0, $1) }, uniquingKeysWith: { $1 }) })
            return
        }
        let cells = [columns] + rows.map { $0.map(Self.text) }
        let widths = columns.indices.map { column in cells.map { $0[column].count }.max() ?? 0 }
        for row in cells {
            print(zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces))
        }
    }

    /// A remark for the person at the terminal, on standard error (scripts read standard output).
    func note(_ text: String) {
        FileHandle.standardError.write(Data(("note: " + text + "\n").utf8))
    }

    static func text(_ value: Any) -> String {
        switch value {
        case let list as [String]: list.joined(separator: ",")
        case let flag as Bool: flag ? "yes" : "no"
        default: "\(value)"
        }
    }

    /// Any JSON value (for shapes `record` and `table` do not fit).
    func emitJSON(_ value: Any) {
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]) else { return }
        print(String(decoding: data, as: UTF8.self))
    }
}

/// An optional inside `Any`, so `record` can drop nil fields and unwrap the rest.
protocol OptionalField { var wrappedField: Any? { get } }
extension Optional: OptionalField {
    var wrappedField: Any? { self.map { $0 as Any } }
}
