/// Whole directories as this mount last knew them, so the kernel's lookup
/// of a name that is not there (what every create starts with: `cp`,
/// `tar -x` and `rsync` look up each name before they create it) is
/// answered without a call to the service.
///
/// A directory's listing is its complete set of names: learnt from a
/// listing of the service (`readdir`, or a lookup that lists again a
/// directory whose listing just expired), or empty for a directory this
/// mount has just made; then kept up to date with every change this mount
/// makes in it (a create, even one held until close, a mkdir, an unlink, a
/// rename). It answers for `ttl` from when it was learnt; a change made by
/// another client within that time is not in it, so a name another client
/// created may read as missing here for up to `ttl`, as the kernel's own
/// cache keeps a removed name for its entry timeout. A change whose outcome
/// this mount does not know (a call that failed) drops the listing.
///
/// Bounded: a directory with more than `maxNames` names is not kept, and
/// past `maxTotalNames` over every listing the expired ones go, then all.
struct DirectoryListings {
    struct Listing {
        var names: Set<String>
        var expires: ContinuousClock.Instant
        /// What the list call that gave it took (zero for a directory made here).
        var cost: Duration = .zero
        /// Lookups it answered.
        var answered = 0
    }

    static let maxNames = 10_000
    static let maxTotalNames = 200_000
    /// How long after its expiry a listing still counts as one of a directory being filled: a lookup of a missing
    /// name there lists the directory again (one call that then answers `ttl` of lookups) instead of asking for the one name.
    static let relistWindow = Duration.seconds(10)
    /// Listing again must be worth it: the lookups the last listing answered, at what a lookup costs, at least this
    /// many times what that listing cost (a list costs ~45 µs per name here, a lookup ~0.9 ms: docs/BENCHMARKS.md "Session 33").
    static let relistGain = 2

    let ttl: Duration
    private var listings: [String: Listing] = [:]
    private var totalNames = 0
    /// Counts this mount's changes to names (`add`, `remove`, `forget`). A listing asked of the service while
    /// this moved may lack a change made meanwhile, or have it: `learn` replays the changes made since on it
    /// from `journal` (the last `journalLimit`; one older than those is not learnt).
    private(set) var changes: UInt64 = 0
    private enum Change { case added, removed, unknown }
    private var journal: [(number: UInt64, path: String, change: Change)] = []
    static let journalLimit = 4096

    init(ttl: Duration) { self.ttl = ttl }

    var isEnabled: Bool { ttl > .zero }

    /// "a/b/c" → ("a/b", "c"); "c" → ("", "c").
    static func split(_ path: String) -> (parent: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return ("", path) }
        return (String(path[..<slash]), String(path[path.index(after: slash)...]))
    }

    /// True when the name's directory has a current listing and the name is not in it.
    func isAbsent(_ path: String, now: ContinuousClock.Instant) -> Bool {
        let (parent, name) = Self.split(path)
        guard let listing = listings[parent], listing.expires >= now else { return false }
        return !listing.names.contains(name)
    }

    /// `isAbsent`, as the answer to a lookup: counted for `isWorthRelisting`.
    mutating func answersAbsent(_ path: String, now: ContinuousClock.Instant) -> Bool {
        guard isAbsent(path, now: now) else { return false }
        listings[Self.split(path).parent]!.answered += 1
        return true
    }

    /// True when `directory` had a listing that expired within `relistWindow` (it is being filled) and that
    /// answered enough lookups, each worth `lookupCost` (nil: not known yet), to pay for listing it again.
    func isWorthRelisting(_ directory: String, now: ContinuousClock.Instant, lookupCost: Duration?) -> Bool {
        guard isEnabled, let listing = listings[directory], listing.expires < now, now - listing.expires <= Self.relistWindow else {
            return false
        }
        guard let lookupCost, listing.cost > .zero else { return listing.answered > 0 }
        return lookupCost * listing.answered >= listing.cost * Self.relistGain
    }

    /// Every name in `directory`, as the service listed it (with the names this mount holds there) or as made
    /// here, asked when `changes` read `since`: the changes this mount made since are replayed on it (a name
    /// added or removed in it; not learnt when it or a directory above it was removed or changed unknowably).
    mutating func learn(_ directory: String, names listed: some Sequence<String>, now: ContinuousClock.Instant, since: UInt64,
                        cost: Duration = .zero) {
        guard isEnabled else { return }
        drop(directory)
        var names = Set(listed)
        if since != changes {
            guard let first = journal.first?.number, since >= first - 1 else { return }
            for entry in journal where entry.number > since {
                let (parent, name) = Self.split(entry.path)
                if entry.path == directory || directory.hasPrefix(entry.path + "/") || directory.isEmpty && entry.path.isEmpty {
                    if entry.change != .added { return }  // the directory itself, or one above it, went or changed
                    continue
                }
                guard parent == directory else { continue }
                switch entry.change {
                case .added: names.insert(name)
                case .removed: names.remove(name)
                case .unknown: return
                }
            }
        }
        guard names.count <= Self.maxNames else { return }
        if totalNames + names.count > Self.maxTotalNames {
            for (key, listing) in listings where listing.expires < now { drop(key, listing) }
            if totalNames + names.count > Self.maxTotalNames {
                listings = [:]
                totalNames = 0
            }
        }
        listings[directory] = Listing(names: names, expires: now + ttl, cost: cost)
        totalNames += names.count
    }

    /// A name this mount made (a file, held or created, a directory, a rename's target).
    mutating func add(_ path: String) {
        note(path, .added)
        let (parent, name) = Self.split(path)
        guard var listing = listings[parent], !listing.names.contains(name) else { return }
        guard listing.names.count < Self.maxNames else { return drop(parent) }
        listing.names.insert(name)
        listings[parent] = listing
        totalNames += 1
    }

    /// A name this mount removed (an unlink, a rmdir, a rename's source): gone from its directory's listing,
    /// and the listings of it and below it dropped.
    mutating func remove(_ path: String) {
        note(path, .removed)
        let (parent, name) = Self.split(path)
        if var listing = listings[parent], listing.names.remove(name) != nil {
            listings[parent] = listing
            totalNames -= 1
        }
        dropSubtree(path)
    }

    /// What became of `path` is not known (a call about it failed): its directory's listing and the listings
    /// of it and below it are dropped.
    mutating func forget(_ path: String) {
        note(path, .unknown)
        drop(Self.split(path).parent)
        dropSubtree(path)
    }

    private mutating func note(_ path: String, _ change: Change) {
        guard isEnabled else { return }  // off: nothing is learnt, so nothing to replay
        changes &+= 1
        journal.append((changes, path, change))
        if journal.count > Self.journalLimit { journal.removeFirst(journal.count - Self.journalLimit / 2) }
    }

    private mutating func dropSubtree(_ path: String) {
        let prefix = path.isEmpty ? "" : path + "/"
        for (key, listing) in listings where key == path || key.hasPrefix(prefix) { drop(key, listing) }
    }

    private mutating func drop(_ directory: String) {
        if let listing = listings[directory] { drop(directory, listing) }
    }

    private mutating func drop(_ directory: String, _ listing: Listing) {
        listings[directory] = nil
        totalNames -= listing.names.count
    }
}
