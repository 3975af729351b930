@testable import AtRestStorage
import AtRestTesting
import Testing

/// The OData `$filter` subset: what parses to what, how entities match,
/// and that bad input always gets a clear error with a position.
@Suite struct TableFilterTests {
    static func parse(_ text: String) throws -> TableFilter { try TableFilter(parsing: text) }

    static let entity = TableEntity(partitionKey: "p1", rowKey: "b", properties: [
        "Age": .int32(31), "Big": .int64(5_000_000_000), "Score": .double(2.5), "Name": .string("O'Hara"), "Active": .bool(true),
        "Born": .datetime(TableLiteral.datetime("1990-05-06T07:08:09.5Z")!), "Id": .guid(TableLiteral.guid("01234567-89ab-cdef-0123-456789abcdef")!),
        "Blob": .binary([0xCA, 0xFE]),
    ], etag: String(repeating: "0", count: 32), timestamp: 1_800_000_000_000_000)

    @Test func typedLiteralsParse() throws {
        #expect(try Self.parse("Age gt 30") == .compare(property: "Age", .gt, .int32(30)))
        #expect(try Self.parse("Big eq 30L") == .compare(property: "Big", .eq, .int64(30)))
        #expect(try Self.parse("Score le -2.5e1") == .compare(property: "Score", .le, .double(-25)))
        #expect(try Self.parse("Score ne 2d") == .compare(property: "Score", .ne, .double(2)))
        #expect(try Self.parse("Name eq 'O''Hara'") == .compare(property: "Name", .eq, .string("O'Hara")))
        #expect(try Self.parse("Active eq false") == .compare(property: "Active", .eq, .bool(false)))
        #expect(try Self.parse("Born lt datetime'1970-01-01T00:00:01.000002Z'") == .compare(property: "Born", .lt, .datetime(1_000_002)))
        #expect(try Self.parse("Born lt datetime'1970-01-01T02:00+01:00'") == .compare(property: "Born", .lt, .datetime(3_600_000_000)))
        #expect(try Self.parse("Blob eq X'cAfE'") == .compare(property: "Blob", .eq, .binary([0xCA, 0xFE])))
        #expect(try Self.parse("Blob eq binary''") == .compare(property: "Blob", .eq, .binary([])))
        #expect(try Self.parse("30 lt Age") == .compare(property: "Age", .gt, .int32(30)))
        #expect(TableLiteral.format(datetime: TableLiteral.datetime("2026-02-28T23:59:59.123456Z")!) == "2026-02-28T23:59:59.123456Z")
        #expect(TableLiteral.format(datetime: -1) == "1969-12-31T23:59:59.999999Z")
        #expect(TableLiteral.format(guid: TableLiteral.guid("01234567-89AB-cdef-0123-456789abcdef")!) == "01234567-89ab-cdef-0123-456789abcdef")
    }

    @Test func precedenceAndParentheses() throws {
        let a = TableFilter.compare(property: "A", .eq, .int32(1)), b = TableFilter.compare(property: "B", .eq, .int32(2))
        let c = TableFilter.compare(property: "C", .eq, .int32(3))
        #expect(try Self.parse("A eq 1 or B eq 2 and C eq 3") == .or(a, .and(b, c)))
        #expect(try Self.parse("(A eq 1 or B eq 2) and C eq 3") == .and(.or(a, b), c))
        #expect(try Self.parse("not A eq 1 and not (B eq 2)") == .and(.not(a), .not(b)))
        #expect(try Self.parse("  ((A eq 1))  ") == a)
        let fixed = try Self.parse("PartitionKey eq 'p' and RowKey ge 'a' and RowKey lt 'b' and Age gt 30 and not (Name eq 'x')")
        #expect(fixed.fixedPartition == "p")
        #expect(try Self.parse("RowKey ge 'a' and (PartitionKey eq 'q')").fixedPartition == "q")
        #expect(try Self.parse("PartitionKey eq 'p' or RowKey eq 'a'").fixedPartition == nil)
        #expect(try Self.parse("not (PartitionKey eq 'p')").fixedPartition == nil)
    }

    @Test func entitiesMatch() throws {
        let matching = [
            "PartitionKey eq 'p1' and RowKey ge 'a' and RowKey lt 'c' and Age gt 30 and not (Name eq 'x')",
            "Age eq 31L", "Age lt 31.5", "Big gt 4999999999L", "Score ge 2", "Name gt 'O'", "Active eq true", "Active ne false",
            "Born gt datetime'1990-05-06T07:08:09Z' and Born lt datetime'1990-05-06T07:08:10Z'",
            "Id eq guid'01234567-89ab-cdef-0123-456789abcdef'", "Blob eq X'CAFE'", "Timestamp gt datetime'2020-01-01T00:00:00Z'",
            "Missing eq 1 or Age eq 31", "not (Missing eq 1 and Age eq 30)",
        ]
        for text in matching { #expect(try Self.parse(text).matches(Self.entity), "\(text)") }
        let notMatching = [
            "Age gt 31", "Name eq 'o''hara'", "Missing eq 1", "not (Missing eq 1)", "Missing ne 1", "Age eq '31'", "Active gt 1",
            "Missing eq 1 and Age eq 31", "PartitionKey eq 'p2'", "RowKey lt 'b'",
        ]
        for text in notMatching { #expect(try !Self.parse(text).matches(Self.entity), "\(text)") }
    }

    @Test func badFiltersSayWhereAndWhat() {
        let cases: [(String, Int, String)] = [
            ("Age gt", 7, "expected a literal or a property name after 'gt', found the end of the filter"),
            ("Age 30", 5, "expected a comparison operator (eq, ne, gt, ge, lt, le), found '30'"),
            ("Age eq 30 and", 14, "expected a property name, a literal, 'not' or '(', found the end of the filter"),
            ("(Age eq 30", 11, "expected ')' to close the '(' at position 1"),
            ("Age eq 30)", 10, "expected 'and', 'or' or the end of the filter, found ')'"),
            ("Name eq 'abc", 9, "expected a closing '"),
            ("Age eq 3000000000", 8, "write 3000000000L"),
            ("Age eq 2.5L", 8, "expected an integer before L"),
            ("Age eq 30x", 8, "expected a number"),
            ("Born eq datetime'2020-02-30T00:00:00Z'", 9, "expected datetime'YYYY-MM-DD"),
            ("Id eq guid'1234'", 7, "expected guid'"),
            ("Blob eq X'ABC'", 9, "even number of hex digits"),
            ("Age eq foo'x'", 8, "expected a literal type"),
            ("Age eq Name", 8, "two properties cannot be compared"),
            ("1 eq 2", 1, "a property name on one side"),
            ("and eq 1", 1, "expected a property name, a literal"),
            ("Age € 1", 5, "found '€'"),
            ("", 1, "found the end of the filter"),
            (String(repeating: "(", count: 40) + "A eq 1" + String(repeating: ")", count: 40), 33, "deeper than 32"),
            (String(repeating: "not ", count: 40) + "A eq 1", 129, "deeper than 32"),
            ((0...100).map { "A eq \($0)" }.joined(separator: " or "), 1091, "at most 100 comparisons"),
        ]
        for (text, position, message) in cases {
            do {
                let parsed = try TableFilter(parsing: text)
                Issue.record("'\(text.prefix(60))' parsed as \(parsed)")
            } catch {
                #expect(error.position == position, "'\(text.prefix(60))': \(error)")
                #expect(error.description.contains(message), "'\(text.prefix(60))': \(error)")
            }
        }
    }

    /// Random strings, and random mixes of the language's own tokens: always
    /// a filter or a `TableFilterError` inside the text, never a crash or hang.
    @Test func fuzzNeverCrashes() {
        var rng = SplitMix(seed: 0x7AB1E)
        let comparisons = ["Age gt 30", "Name eq 'O''Hara'", "Big le 30L", "Score ne 2.5e3", "Active eq true", "Id eq guid'01234567-89ab-cdef-0123-456789abcdef'",
                           "Born lt datetime'2020-01-01T00:00:00Z'", "Blob eq X'cafe'", "PartitionKey eq 'p1'", "30 lt Age"]
        let noise: [Unicode.Scalar] = ["(", ")", "'", " ", "-", ".", "L", "e", "x", "€", "\u{0}", "9", "n"]
        var parsed = 0
        for round in 0..<20_000 {
            var text: String
            if round % 2 == 0 {
                let scalars = (0..<Int(rng.next() % 40)).map { _ in Unicode.Scalar(UInt8(rng.next() % 128)) }
                text = String(String.UnicodeScalarView(scalars))
            } else {
                // A filter of the language, often with one character deleted, replaced or inserted.
                text = (0...Int(rng.next() % 4)).map { _ in
                    let c = comparisons[Int(rng.next() % UInt64(comparisons.count))]
                    return rng.next() % 3 == 0 ? "not (\(c))" : c
                }.joined(separator: rng.next() % 2 == 0 ? " and " : " or ")
                var scalars = Array(text.unicodeScalars)
                let at = Int(rng.next() % UInt64(scalars.count))
                switch rng.next() % 4 {
                case 0: scalars.remove(at: at)
                case 1: scalars[at] = noise[Int(rng.next() % UInt64(noise.count))]
                case 2: scalars.insert(noise[Int(rng.next() % UInt64(noise.count))], at: at)
                default: break
                }
                text = String(String.UnicodeScalarView(scalars))
            }
            do {
                _ = try TableFilter(parsing: text).matches(Self.entity)
                parsed += 1
            } catch {
                #expect((1...text.unicodeScalars.count + 1).contains(error.position) && error.description.contains("expected")
                        || error.description.contains("at most") || error.description.contains("deeper"), "'\(text)': \(error)")
            }
        }
        #expect(parsed > 2_500, "the language's own filters should mostly parse, parsed \(parsed)")
    }
}
