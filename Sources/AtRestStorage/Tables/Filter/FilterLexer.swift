/// A token of a filter, with its 1-based character position.
struct FilterToken: Equatable {
    enum Kind: Equatable {
        case name(String)
        case literal(TableValue)
        case open, close, end
    }

    var kind: Kind
    var position: Int
    var text: String

    /// Names that are not property names.
    static let keywords: Set<String> = ["and", "or", "not", "eq", "ne", "gt", "ge", "lt", "le"]

    var isOperand: Bool {
        switch kind {
        case .literal: true
        case .name(let word): !Self.keywords.contains(word)
        default: false
        }
    }

    /// The token as an error message shows it.
    var shown: String { kind == .end ? "the end of the filter" : "'\(text.prefix(40))'" }
}

/// Splits a filter into tokens; literals are typed here (`'s'`, `30`,
/// `30L`, `2.5`, `true`, `datetime'…'`, `guid'…'`, `X'…'`/`binary'…'`).
struct FilterLexer {
    private let s: [Unicode.Scalar]
    private var i = 0

    init(_ scalars: [Unicode.Scalar]) { s = scalars }

    mutating func tokens() throws(TableFilterError) -> [FilterToken] {
        var out: [FilterToken] = []
        while true {
            while i < s.count, [" ", "\t", "\n", "\r"].contains(s[i]) { i += 1 }
            guard i < s.count else { break }
            out.append(try token())
        }
        out.append(FilterToken(kind: .end, position: s.count + 1, text: ""))
        return out
    }

    private func text(_ from: Int) -> String { String(String.UnicodeScalarView(s[from..<i])) }

    private static func isDigit(_ c: Unicode.Scalar) -> Bool { ("0"..."9").contains(c) }
    private static func isNameStart(_ c: Unicode.Scalar) -> Bool { ("a"..."z").contains(c) || ("A"..."Z").contains(c) || c == "_" }

    private mutating func token() throws(TableFilterError) -> FilterToken {
        let start = i, c = s[i]
        if c == "(" || c == ")" {
            i += 1
            return FilterToken(kind: c == "(" ? .open : .close, position: start + 1, text: String(c))
        }
        if c == "'" {
            return FilterToken(kind: .literal(.string(try quoted())), position: start + 1, text: text(start))
        }
        if Self.isDigit(c) || ((c == "-" || c == ".") && i + 1 < s.count && Self.isDigit(s[i + 1])) {
            return try number()
        }
        guard Self.isNameStart(c) else {
            throw TableFilterError(position: start + 1, "expected a property name, a literal, an operator or a parenthesis, found '\(c)'")
        }
        while i < s.count, Self.isNameStart(s[i]) || Self.isDigit(s[i]) { i += 1 }
        let word = text(start)
        if i < s.count, s[i] == "'" {
            return try typed(word, start)
        }
        switch word {
        case "true", "false": return FilterToken(kind: .literal(.bool(word == "true")), position: start + 1, text: word)
        default: return FilterToken(kind: .name(word), position: start + 1, text: word)
        }
    }

    /// A quoted string from the opening quote; `''` is a quote.
    private mutating func quoted() throws(TableFilterError) -> String {
        let open = i
        i += 1
        var out = String.UnicodeScalarView()
        while i < s.count {
            if s[i] == "'" {
                if i + 1 < s.count, s[i + 1] == "'" {
                    out.append("'")
                    i += 2
                    continue
                }
                i += 1
                return String(out)
            }
            out.append(s[i])
            i += 1
        }
        throw TableFilterError(position: open + 1, "expected a closing ' for the string that starts here, found the end of the filter")
    }

    private mutating func typed(_ prefix: String, _ start: Int) throws(TableFilterError) -> FilterToken {
        let body = try quoted()
        let value: TableValue?
        let form: String
        switch prefix {
        case "datetime":
            (value, form) = (TableLiteral.datetime(body).map(TableValue.datetime), "datetime'YYYY-MM-DDTHH:MM:SS[.fraction]Z'")
        case "guid":
            (value, form) = (TableLiteral.guid(body).map(TableValue.guid), "guid'xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx'")
        case "X", "x", "binary":
            (value, form) = (TableLiteral.binary(body).map(TableValue.binary), "X'…' with an even number of hex digits")
        default:
            throw TableFilterError(position: start + 1, "expected a literal type (datetime, guid, X or binary) before a quote, found '\(prefix.prefix(40))'")
        }
        guard let value else { throw TableFilterError(position: start + 1, "expected \(form), found '\(text(start).prefix(80))'") }
        return FilterToken(kind: .literal(value), position: start + 1, text: text(start))
    }

    /// `-? digits [. digits] [(e|E) [+-] digits] [L | d | D]`: int32, int64 with L, double with a fraction, exponent or d.
    private mutating func number() throws(TableFilterError) -> FilterToken {
        let start = i
        if s[i] == "-" { i += 1 }
        var isDouble = false
        func digits() { while i < s.count, Self.isDigit(s[i]) { i += 1 } }
        digits()
        if i < s.count, s[i] == "." { isDouble = true; i += 1; digits() }
        if i < s.count, s[i] == "e" || s[i] == "E" {
            isDouble = true
            i += 1
            if i < s.count, s[i] == "+" || s[i] == "-" { i += 1 }
            let before = i
            digits()
            guard i > before else { throw TableFilterError(position: start + 1, "expected digits after the exponent of '\(text(start))'") }
        }
        let digitsText = text(start)
        var suffix: Unicode.Scalar?
        if i < s.count, ["L", "l", "d", "D"].contains(s[i]) { suffix = s[i]; i += 1 }
        if i < s.count, Self.isNameStart(s[i]) || Self.isDigit(s[i]) || s[i] == "." {
            throw TableFilterError(position: start + 1, "expected a number (30, 30L, 2.5, 2.5d), found '\(text(start))\(s[i])'")
        }
        let value: TableValue?
        switch suffix {
        case "L", "l":
            guard !isDouble else { throw TableFilterError(position: start + 1, "expected an integer before L, found '\(digitsText)'") }
            value = Int64(digitsText).map(TableValue.int64)
        case "d", "D":
            value = Double(digitsText).map(TableValue.double)
        default:
            if isDouble {
                value = Double(digitsText).map(TableValue.double)
            } else if let v = Int32(digitsText) {
                value = .int32(v)
            } else {
                throw TableFilterError(position: start + 1, "expected an int32, found '\(digitsText)' (out of range: write \(digitsText)L for an int64)")
            }
        }
        guard let value, !(value == .double(.infinity) || value == .double(-.infinity)) else {
            throw TableFilterError(position: start + 1, "expected a number in range, found '\(text(start))'")
        }
        return FilterToken(kind: .literal(value), position: start + 1, text: text(start))
    }
}
