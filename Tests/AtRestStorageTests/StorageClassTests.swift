import Testing
@testable import AtRestStorage

/// How an account's redundancy picks where its objects live.
@Suite struct StorageClassTests {
    @Test func redundancyPicksTheClassWithThatManyCopies() throws {
        let classes = StorageClasses([StorageClass(pool: "atrest", copies: 2), StorageClass(pool: "atrest-3", copies: 3)])
        #expect(try classes.choose(redundancy: 0) == StorageClass(pool: "atrest", copies: 2), "0 is the default: the first")
        #expect(try classes.choose(redundancy: 3).pool == "atrest-3")
        #expect(throws: StorageError(.invalidArgument, "redundancy 4 is not offered by this deployment; it offers: 2 (pool atrest), 3 (pool atrest-3)")) {
            try classes.choose(redundancy: 4)
        }
        #expect(try StorageClasses.local.choose(redundancy: 1) == .local)
        #expect(throws: StorageError.self) { try StorageClasses.local.choose(redundancy: 2) }
    }
}
