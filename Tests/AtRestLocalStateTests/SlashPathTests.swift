import AtRestLocalState
import Testing

/// Paths are cut at the byte "/", whatever Character it starts.
struct SlashPathTests {
    @Test func aSlashBeforeACombiningMarkSeparates() {
        let path = "a/\u{301}b"
        // String's own split does not cut there: the reason SlashPath exists.
        #expect(path.split(separator: "/").count == 1)
        #expect(SlashPath.split(path) == ["a", "\u{301}b"])
        #expect(SlashPath.relative("/\u{301}b/c") == "\u{301}b/c")
        #expect(SlashPath.relative("///") == "")
    }

    @Test func emptyPartsAndMaxSplits() {
        #expect(SlashPath.split("/a//b/") == ["a", "b"])
        #expect(SlashPath.split("/a//b/", omittingEmpty: false) == ["", "a", "", "b", ""])
        #expect(SlashPath.split("acct/share/x/y", maxSplits: 2, omittingEmpty: false) == ["acct", "share", "x/y"])
        #expect(SlashPath.split("") == [])
        #expect(SlashPath.split("é/ü") == ["é", "ü"])
    }
}
