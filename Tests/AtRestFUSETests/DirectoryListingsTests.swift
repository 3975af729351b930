@testable import AtRestFileMount
import Testing

/// `DirectoryListings`, the mount's knowledge of whole directories that
/// answers lookups of missing names without a call: what it says is
/// missing, for how long, and what every change this mount makes does to
/// it (the real mount's answers, and another client's name becoming
/// visible within the timeout, are `FileMountTests.lookupsOfMissingNames…`).
@Suite struct DirectoryListingsTests {
    let start = ContinuousClock.now

    func listings(_ seconds: Int64 = 1) -> DirectoryListings { DirectoryListings(ttl: .seconds(seconds)) }

    @Test func aListingAnswersForItsTimeoutOnly() {
        var known = listings()
        known.learn("d", names: ["a", "b"], now: start, since: known.changes)
        let answered = known.answersAbsent("d/c", now: start + .milliseconds(999))
        #expect(answered)
        #expect(!known.isAbsent("d/a", now: start), "listed")
        #expect(!known.isAbsent("e/c", now: start), "a directory never listed")
        #expect(!known.isAbsent("d/c", now: start + .milliseconds(1001)), "expired")
        #expect(!known.isWorthRelisting("d", now: start + .milliseconds(500), lookupCost: nil), "current: nothing to list")
        #expect(known.isWorthRelisting("d", now: start + .seconds(5), lookupCost: nil), "expired a moment ago: a directory being filled")
        #expect(!known.isWorthRelisting("d", now: start + .seconds(12), lookupCost: nil), "expired long ago")
        #expect(!known.isWorthRelisting("e", now: start + .seconds(5), lookupCost: nil))
    }

    @Test func listingAgainMustPayForItself() {
        var known = listings()
        known.learn("unused", names: [], now: start, since: 0)
        #expect(!known.isWorthRelisting("unused", now: start + .seconds(2), lookupCost: nil), "answered nothing: not listed again")
        // A listing that cost 100 ms is worth listing again once it saved twice that in lookups of 1 ms.
        known.learn("d", names: ["a"], now: start, since: 0, cost: .milliseconds(100))
        for index in 0..<199 {
            let answered = known.answersAbsent("d/n\(index)", now: start)
            #expect(answered)
        }
        #expect(!known.isWorthRelisting("d", now: start + .seconds(2), lookupCost: .milliseconds(1)), "199 ms saved")
        let last = known.answersAbsent("d/n199", now: start), named = known.answersAbsent("d/a", now: start)
        #expect(last && !named, "a listed name is not an answer")
        #expect(known.isWorthRelisting("d", now: start + .seconds(2), lookupCost: .milliseconds(1)), "200 ms saved")
        #expect(!known.isWorthRelisting("d", now: start + .seconds(2), lookupCost: .microseconds(500)), "cheaper lookups: not yet")
        #expect(known.isWorthRelisting("d", now: start + .seconds(2), lookupCost: nil), "what a lookup costs not known yet")
    }

    @Test func theRootAndNestedPaths() {
        var known = listings()
        known.learn("", names: ["top"], now: start, since: 0)
        known.learn("a/b", names: [], now: start, since: 0)
        #expect(known.isAbsent("other", now: start) && !known.isAbsent("top", now: start))
        #expect(known.isAbsent("a/b/c", now: start) && !known.isAbsent("a/b", now: start), "a/b's own name is in a's listing, not known")
        #expect(DirectoryListings.split("a/b/c") == ("a/b", "c") && DirectoryListings.split("c") == ("", "c"))
    }

    @Test func changesMadeHereKeepTheListingTrue() {
        var known = listings()
        known.learn("d", names: ["old"], now: start, since: 0)
        known.learn("d/sub", names: ["x"], now: start, since: 0)
        known.add("d/new")
        #expect(!known.isAbsent("d/new", now: start), "created here")
        known.remove("d/old")
        #expect(known.isAbsent("d/old", now: start), "unlinked here")
        known.remove("d/sub")
        #expect(known.isAbsent("d/sub", now: start) && !known.isAbsent("d/sub/y", now: start), "a removed directory's own listing goes")
        // A call whose outcome is not known: the directory's listing goes (every lookup asks again).
        known.forget("d/new")
        #expect(!known.isAbsent("d/anything", now: start))
    }

    @Test func changesMadeWhileAListingWasAskedAreReplayedOnIt() {
        var known = listings()
        known.learn("d", names: ["gone"], now: start, since: 0)
        let since = known.changes
        known.add("d/made-meanwhile")  // the service's listing may lack it,
        known.remove("d/gone")  // or still have it
        known.add("e/elsewhere")
        known.learn("d", names: ["a", "gone"], now: start, since: since)
        #expect(!known.isAbsent("d/made-meanwhile", now: start) && !known.isAbsent("d/a", now: start))
        #expect(known.isAbsent("d/gone", now: start) && known.isAbsent("d/z", now: start) && known.isAbsent("d/elsewhere", now: start))

        // Not learnt: a change whose outcome is unknown, the directory removed, or changes older than the journal.
        let before = known.changes
        known.forget("d/unknown")
        known.learn("d", names: ["a"], now: start, since: before)
        #expect(!known.isAbsent("d/z", now: start))
        let beforeRemoval = known.changes
        known.remove("d")
        known.learn("d/sub", names: [], now: start, since: beforeRemoval)
        #expect(!known.isAbsent("d/sub/z", now: start), "a directory above it removed meanwhile")
        let long = known.changes
        for index in 0...DirectoryListings.journalLimit { known.add("f/\(index)") }
        known.learn("g", names: [], now: start, since: long)
        #expect(!known.isAbsent("g/z", now: start), "more changes since than the journal keeps")
        known.learn("g", names: [], now: start, since: known.changes)
        #expect(known.isAbsent("g/z", now: start))
    }

    @Test func renamesAndExchangesDropWhatMoved() {
        var known = listings()
        for directory in ["s", "s/sub", "t", "t/sub"] { known.learn(directory, names: ["sub"], now: start, since: known.changes) }
        // A rename s/sub → t/sub (replacing it): what the mount does.
        known.remove("s/sub")
        known.remove("t/sub")
        known.add("t/sub")
        #expect(known.isAbsent("s/sub", now: start) && !known.isAbsent("t/sub", now: start))
        #expect(!known.isAbsent("t/sub/anything", now: start) && !known.isAbsent("s/sub/anything", now: start), "listings below both go")
    }

    @Test func boundedAndOffAtZero() {
        var off = listings(0)
        off.learn("d", names: [], now: start, since: 0)
        #expect(!off.isAbsent("d/x", now: start) && !off.isWorthRelisting("d", now: start + .seconds(2), lookupCost: nil))
        var known = listings()
        known.learn("big", names: (0...DirectoryListings.maxNames).map { "f\($0)" }, now: start, since: 0)
        #expect(!known.isAbsent("big/none", now: start), "a directory over maxNames is not kept")
        known.learn("full", names: (0..<DirectoryListings.maxNames).map { "f\($0)" }, now: start, since: 0)
        #expect(known.isAbsent("full/none", now: start))
        known.add("full/one-more")
        #expect(!known.isAbsent("full/none", now: start), "growing past maxNames drops it")
        // Past the total, the expired go first, then all.
        for index in 0 ..< DirectoryListings.maxTotalNames / DirectoryListings.maxNames {
            known.learn("d\(index)", names: (0..<DirectoryListings.maxNames).map { "f\($0)" }, now: start, since: known.changes)
        }
        #expect(known.isAbsent("d19/none", now: start))
        known.learn("late", names: ["x"], now: start + .seconds(2), since: known.changes)
        #expect(known.isAbsent("late/none", now: start + .seconds(2)) && !known.isWorthRelisting("d0", now: start + .seconds(2), lookupCost: nil),
                "the expired listings went to make room")
    }
}
