import AtRestCrypto

/// The text forms of typed values, as filters (`datetime'…'`, `guid'…'`,
/// `X'…'`) and people write them; nil when the text is not one.
public enum TableLiteral {
    /// `YYYY-MM-DDTHH:MM[:SS[.fraction]][Z|±HH:MM]` (no zone: UTC) in
    /// microseconds since the Unix epoch; a fraction's digits past the
    /// sixth (100 ns) are dropped.
    public static func datetime(_ text: String) -> Int64? {
        let s = Array(text.utf8)
        var i = 0
        func number(_ count: Int) -> Int64? {
            guard i + count <= s.count, s[i..<(i + count)].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            defer { i += count }
            return s[i..<(i + count)].reduce(0) { $0 * 10 + Int64($1 - 0x30) }
        }
        func take(_ c: Character) -> Bool {
            guard i < s.count, s[i] == c.asciiValue! else { return false }
            i += 1
            return true
        }
        guard let year = number(4), take("-"), let month = number(2), take("-"), let day = number(2), take("T") || take("t"),
              let hour = number(2), take(":"), let minute = number(2) else { return nil }
        var second: Int64 = 0, micros: Int64 = 0
        if take(":") {
            guard let s2 = number(2) else { return nil }
            second = s2
            if take(".") {
                var digits = 0
                while i < s.count, s[i] >= 0x30, s[i] <= 0x39 {
                    if digits < 6 { micros = micros * 10 + Int64(s[i] - 0x30) }
                    digits += 1
                    i += 1
                }
                guard (1...9).contains(digits) else { return nil }
                for _ in min(digits, 6)..<6 { micros *= 10 }
            }
        }
        var offset: Int64 = 0
        if take("Z") || take("z") || i == s.count {
            offset = 0
        } else if i < s.count, s[i] == 0x2B || s[i] == 0x2D {
            let sign: Int64 = s[i] == 0x2D ? -1 : 1
            i += 1
            guard let oh = number(2), take(":"), let om = number(2), oh < 24, om < 60 else { return nil }
            offset = sign * (oh * 60 + om) * 60
        } else {
            return nil
        }
        guard i == s.count, (1...12).contains(month), (1...daysIn(month, year)).contains(day), hour < 24, minute < 60, second < 60 else { return nil }
        let seconds = daysFromCivil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset
        return seconds * 1_000_000 + micros
    }

    /// ISO 8601 in UTC with microseconds: `2026-01-02T03:04:05.000006Z`.
    public static func format(datetime micros: Int64) -> String {
        // Floor division without `micros - 999_999`, which overflows near Int64.min (found by fuzz-filter).
        let (quotient, remainder) = micros.quotientAndRemainder(dividingBy: 1_000_000)
        let seconds = remainder < 0 ? quotient - 1 : quotient
        let fraction = remainder < 0 ? remainder + 1_000_000 : remainder
        let (dayQuotient, dayRemainder) = seconds.quotientAndRemainder(dividingBy: 86_400)
        let days = dayRemainder < 0 ? dayQuotient - 1 : dayQuotient
        let (y, m, d) = civilFromDays(days)
        let rest = seconds - days * 86_400
        func pad(_ v: Int64, _ n: Int) -> String { let t = String(v); return String(repeating: "0", count: max(0, n - t.count)) + t }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(rest / 3600, 2)):\(pad(rest / 60 % 60, 2)):\(pad(rest % 60, 2)).\(pad(fraction, 6))Z"
    }

    /// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` as its 16 bytes in text order.
    public static func guid(_ text: String) -> [UInt8]? {
        let groups = text.split(separator: "-", omittingEmptySubsequences: false)
        guard groups.map(\.count) == [8, 4, 4, 4, 12] else { return nil }
        return Hex.decode(groups.joined().lowercased())
    }

    public static func format(guid bytes: [UInt8]) -> String {
        let h = Array(Hex.encode(bytes))
        guard h.count == 32 else { return String(h) }
        return [h[0..<8], h[8..<12], h[12..<16], h[16..<20], h[20..<32]].map { String($0) }.joined(separator: "-")
    }

    /// An even number of hex digits (either case).
    public static func binary(_ text: String) -> [UInt8]? {
        text.utf8.count % 2 == 0 ? Hex.decode(text.lowercased()) : nil
    }

    private static func isLeap(_ y: Int64) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

    private static func daysIn(_ m: Int64, _ y: Int64) -> Int64 {
        [31, isLeap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][Int(m - 1)]
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    private static func daysFromCivil(_ year: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    private static func civilFromDays(_ days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? yoe + era * 400 + 1 : yoe + era * 400, m, d)
    }
}
