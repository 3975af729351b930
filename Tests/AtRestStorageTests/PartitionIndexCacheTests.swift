import Testing
@testable import AtRestStorage

/// The pieces of a partition page that do not need a backend: row order, merging, the cache's bound.
@Suite struct PartitionIndexCacheTests {
    @Test func rowsSortInUTF8ByteOrderNotSwiftStringOrder() {
        // "e" + combining acute (65 CC 81) and precomposed "é" (C3 A9) are equal Strings to Swift, not equal keys to a table.
        #expect(IndexRow.precedes("e\u{301}", "\u{E9}") && !IndexRow.precedes("\u{E9}", "e\u{301}"))
        #expect(IndexRow.precedes("\u{FF61}", "\u{1F600}") && IndexRow.precedes("ab", "abc") && !IndexRow.precedes("abc", "ab"))
        #expect(!IndexRow.precedes("", "") && IndexRow.precedes("", "a") && !IndexRow.precedes("b", "a"))
        let words = ["zeta", "", "Alpha", "alpha", "\u{E9}t\u{E9}", "e\u{301}", "r10", "r9", "\u{1F600}", "\u{FF61}"]
        #expect(words.sorted(by: IndexRow.precedes).map { Array($0.utf8) }
                == words.map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) })
    }

    @Test func mergingKeepsRowKeyOrder() {
        func rows(_ keys: [String]) -> [IndexRow] { keys.map { IndexRow(rowKey: $0, main: "e-p-" + $0) } }
        let merged = TableStore.merge(rows(["b", "d", "f"]), rows(["a", "c", "g", "h"]))
        #expect(merged.map(\.rowKey) == ["a", "b", "c", "d", "f", "g", "h"])
        #expect(TableStore.merge([], rows(["x"])).map(\.main) == ["e-p-x"] && TableStore.merge(rows(["x"]), []).count == 1)
    }

    @Test func aListingKnowsItsMainsPiecesAndWhatAnIndexLacks() {
        let hex = (0..<6).map { String(repeating: String($0 * 2), count: 4) }  // 0000, 2222, …, 101010…
        let listed = ["e-p-\(hex[0])", "e-p-\(hex[1])", "e-p-\(hex[1])-01", "e-p-\(hex[1])-02", "e-p-\(hex[2])-01", "e-p-\(hex[4])"]
        #expect(listed.map(EntityRecord.isPieceKey) == [false, false, true, true, true, false])
        #expect(!EntityRecord.isPieceKey("e-") && !EntityRecord.isPieceKey("-01") && EntityRecord.isPieceKey("e-p-a-0f"))
        let listing = PartitionListing(listed)
        #expect(listing.mains == ["e-p-\(hex[0])", "e-p-\(hex[1])", "e-p-\(hex[2])", "e-p-\(hex[4])"])
        #expect(listing.pieces(of: "e-p-\(hex[1])") == ["e-p-\(hex[1])-01", "e-p-\(hex[1])-02"] && listing.pieces(of: "e-p-\(hex[0])").isEmpty)
        #expect(listing.pieces(of: "e-p-\(hex[2])") == ["e-p-\(hex[2])-01"])  // a piece whose main went meanwhile: still a candidate
        #expect(listing.contains("e-p-\(hex[4])") && !listing.contains("e-p-\(hex[3])") && !listing.contains("e-p-\(hex[1])-01"))
        let indexed = ["e-p-\(hex[1])", "e-p-\(hex[3])", "e-p-\(hex[4])", "e-p-\(hex[5])"]  // hex[3], hex[5] deleted since
        let (unknown, known) = listing.unknown(to: indexed)
        #expect(unknown == ["e-p-\(hex[0])", "e-p-\(hex[2])"] && known == 2)
        #expect(listing.unknown(to: []).unknown == listing.mains && PartitionListing().unknown(to: indexed) == ([], 0))
        // Out of order (no backend lists so, but it must not lose rows): sorted, each main once.
        let shuffled = PartitionListing(listed.reversed())
        #expect(shuffled.mains == listing.mains && shuffled.pieces(of: "e-p-\(hex[1])").count == 2)
    }

    /// Index rows as read from chunks of two generations: out of order, a row in both. Each row once, in order.
    @Test func indexRowsComeOutInOrderAndEachOnce() {
        func rows(_ keys: [String]) -> [IndexRow] { keys.map { IndexRow(rowKey: $0, main: "e-p-" + $0) } }
        let written = rows(["a", "b", "c"])
        #expect(IndexRow.inRowKeyOrderOnce(written).map(\.main) == written.map(\.main))
        let mixed = rows(["c", "d", "a", "b", "c", "e", "a"])
        #expect(IndexRow.inRowKeyOrderOnce(mixed).map(\.rowKey) == ["a", "b", "c", "d", "e"])
        #expect(IndexRow.inRowKeyOrderOnce([]).isEmpty)
    }

    @Test func entriesStayWithinTheByteLimit() throws {
        let cache = PartitionIndexCache(byteLimit: 4096)
        let map = try RecordMapName(BackendContainer("c-test"), "t-00")
        func key(_ prefix: String) -> PartitionIndexCache.Key { .init(map: map, prefix: prefix, keyCheck: [1, 2]) }
        func entry(_ rows: Int) -> PartitionIndexCache.Entry {
            .init(first: [9], chunkKeys: ["i-p-00"], rows: (0..<rows).map { IndexRow(rowKey: "r\($0)", main: "e-p-\($0)") })
        }
        cache[key("e-a-")] = entry(10)
        cache[key("e-b-")] = entry(10)
        #expect(cache[key("e-a-")]?.rows.count == 10 && cache[key("e-b-")] != nil)
        #expect(cache[PartitionIndexCache.Key(map: map, prefix: "e-a-", keyCheck: [3])] == nil)
        cache[key("e-c-")] = entry(30)  // over the limit with the others: they go
        #expect(cache[key("e-a-")] == nil && cache[key("e-c-")]?.rows.count == 30)
        cache[key("e-d-")] = entry(1000)  // over the limit alone: never kept
        #expect(cache[key("e-d-")] == nil && cache[key("e-c-")] != nil)
        cache[key("e-c-")] = nil
        #expect(cache[key("e-c-")] == nil)
    }
}
