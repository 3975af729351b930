@testable import KeyProviderKit
import Testing

/// Times in provider messages are ISO 8601 UTC, computed without Foundation.
struct UTCTimeTests {
    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00Z"), (951_782_400, "2000-02-29T00:00:00Z"), (1_798_761_599, "2026-12-31T23:59:59Z"),
        (4_107_542_400, "2100-03-01T00:00:00Z"), (-1, "1969-12-31T23:59:59Z"),
    ])
    func matchesTheCalendar(_ seconds: Int64, _ expected: String) {
        #expect(UTCTime.iso(seconds) == expected)
    }
}
