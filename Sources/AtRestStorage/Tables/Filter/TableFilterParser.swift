/// The recursive-descent parser of `TableFilter` (grammar in
/// docs/PROTOCOL.md "Table filters"):
///
/// ```
/// filter     = or-expr END
/// or-expr    = and-expr *("or" and-expr)
/// and-expr   = unary *("and" unary)
/// unary      = "not" unary / "(" or-expr ")" / comparison
/// comparison = operand ("eq" / "ne" / "gt" / "ge" / "lt" / "le") operand   ; one side a property name
/// ```
struct TableFilterParser {
    static let maxLength = 32 << 10
    static let maxDepth = 32
    static let maxComparisons = 100

    private let tokens: [FilterToken]
    private var next = 0
    private var depth = 0
    private var comparisons = 0

    init(_ text: String) throws(TableFilterError) {
        let scalars = Array(text.unicodeScalars)
        guard scalars.count <= Self.maxLength else {
            throw TableFilterError(position: Self.maxLength + 1, "a filter is at most \(Self.maxLength) characters, this one \(scalars.count)")
        }
        var lexer = FilterLexer(scalars)
        tokens = try lexer.tokens()
    }

    mutating func parse() throws(TableFilterError) -> TableFilter {
        let filter = try orExpression()
        guard case .end = peek.kind else { throw expected("'and', 'or' or the end of the filter", at: peek) }
        return filter
    }

    private var peek: FilterToken { tokens[next] }

    private mutating func advance() -> FilterToken {
        defer { if next < tokens.count - 1 { next += 1 } }
        return tokens[next]
    }

    private func isWord(_ word: String) -> Bool {
        if case .name(word) = peek.kind { return true }
        return false
    }

    private func expected(_ what: String, at token: FilterToken) -> TableFilterError {
        TableFilterError(position: token.position, "expected \(what), found \(token.shown)")
    }

    private mutating func orExpression() throws(TableFilterError) -> TableFilter {
        var left = try andExpression()
        while isWord("or") {
            _ = advance()
            left = .or(left, try andExpression())
        }
        return left
    }

    private mutating func andExpression() throws(TableFilterError) -> TableFilter {
        var left = try unary()
        while isWord("and") {
            _ = advance()
            left = .and(left, try unary())
        }
        return left
    }

    private mutating func unary() throws(TableFilterError) -> TableFilter {
        let token = peek
        if isWord("not") || token.kind == .open {
            depth += 1
            defer { depth -= 1 }
            guard depth <= Self.maxDepth else {
                throw TableFilterError(position: token.position, "nesting of 'not' and parentheses is deeper than \(Self.maxDepth)")
            }
            _ = advance()
            if token.kind != .open { return .not(try unary()) }
            let inner = try orExpression()
            let close = advance()
            guard close.kind == .close else { throw expected("')' to close the '(' at position \(token.position)", at: close) }
            return inner
        }
        return try comparison()
    }

    private mutating func comparison() throws(TableFilterError) -> TableFilter {
        let left = advance()
        guard left.isOperand else { throw expected("a property name, a literal, 'not' or '('", at: left) }
        let opToken = advance()
        guard case .name(let word) = opToken.kind, let op = TableFilter.ComparisonOperator(rawValue: word) else {
            throw expected("a comparison operator (eq, ne, gt, ge, lt, le)", at: opToken)
        }
        let right = advance()
        guard right.isOperand else { throw expected("a literal or a property name after '\(word)'", at: right) }
        comparisons += 1
        guard comparisons <= Self.maxComparisons else {
            throw TableFilterError(position: left.position, "a filter has at most \(Self.maxComparisons) comparisons")
        }
        switch (left.kind, right.kind) {
        case (.name(let property), .literal(let value)): return .compare(property: property, op, value)
        case (.literal(let value), .name(let property)): return .compare(property: property, op.swapped, value)
        case (.name, _): throw expected("a literal: two properties cannot be compared", at: right)
        default: throw expected("a property name on one side of '\(word)'", at: left)
        }
    }
}
