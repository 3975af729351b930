import Synchronization

/// Key listings of partitions, each with the index it was compared to, kept
/// while the table's record map is unchanged, so the pages of a scan after
/// the first read neither the partition's keys nor its index chunk 00 again
/// (docs/FORMAT.md "Tables", "Partition index").
///
/// An entry holds for one `StorageBackend.recordMapChangeCount` of the map:
/// the count is taken before the listing is read, and a page uses the entry
/// only when the count is the same again, so nothing was committed to the
/// map in between (no row written or removed, no index rewritten). A
/// backend that cannot tell (nil) gets no entries. Any write to the table
/// moves the count on, so a table written to all the time keeps listing
/// every page, as it did without this cache.
///
/// Holds record keys (keyed hashes) only; keyed by the account key's check
/// value like the index cache. Emptied when its entries reach `byteLimit`.
final class PartitionListingCache: Sendable {
    /// A partition's listing, the index it was compared to, and what that comparison gave.
    struct Entry: Sendable {
        let change: UInt64
        let live: PartitionListing
        let index: PartitionIndexCache.Entry?
        /// Listed mains the index lacks (in key order), and how many it has.
        let unknown: [String]
        let known: Int

        var bytes: Int { 64 + (live.count + unknown.count) * 96 }
    }

    private let entries = Mutex<(map: [PartitionIndexCache.Key: Entry], bytes: Int)>(([:], 0))
    let byteLimit: Int

    init(byteLimit: Int = 64 << 20) { self.byteLimit = byteLimit }

    /// The entry of `key` if it was made at change count `change`.
    func entry(_ key: PartitionIndexCache.Key, at change: UInt64?) -> Entry? {
        guard let change else { return nil }
        return entries.withLock { state in state.map[key].flatMap { $0.change == change ? $0 : nil } }
    }

    func store(_ entry: Entry, for key: PartitionIndexCache.Key) {
        entries.withLock { state in
            if let old = state.map.removeValue(forKey: key) { state.bytes -= old.bytes }
            guard entry.bytes <= byteLimit else { return }
            if state.bytes + entry.bytes > byteLimit { state = ([:], 0) }
            state.map[key] = entry
            state.bytes += entry.bytes
        }
    }
}
