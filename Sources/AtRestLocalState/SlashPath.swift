/// Splitting "/"-separated text at the byte "/".
///
/// String's `split(separator: "/")` compares Characters, and "/" followed by
/// a combining mark ("/\u{301}") is one Character that is not "/": such a
/// path would keep a "/" inside one component (found by fuzz-file-records).
/// Every path, share name and export name AtRest splits goes through here,
/// so the client, the mount and the store agree on where components end.
public enum SlashPath {
    /// The parts of `text` between "/" bytes; at most `maxSplits` cuts, the
    /// rest kept whole in the last part.
    public static func split(_ text: String, maxSplits: Int = .max, omittingEmpty: Bool = true) -> [String] {
        Array(text.utf8).split(separator: UInt8(ascii: "/"), maxSplits: maxSplits, omittingEmptySubsequences: omittingEmpty)
            .map { String(decoding: $0, as: UTF8.self) }
    }

    /// `text` without its leading "/" bytes ("/a/b" → "a/b", "/" → "").
    public static func relative(_ text: String) -> String {
        String(decoding: text.utf8.drop { $0 == UInt8(ascii: "/") }, as: UTF8.self)
    }
}
