import Glibc
import Synchronization

/// Partition indexes a `TableStore` has read and opened, so the pages of a
/// scan after the first skip reading, opening, parsing and sorting every
/// chunk again (docs/FORMAT.md "Tables", "Partition index").
///
/// An entry is used only while the partition's chunk 00 still holds the
/// sealed bytes it was read from: every rewrite of an index seals chunk 00
/// anew (a fresh nonce) in the same batch as the other chunks, so equal
/// bytes mean the same index. A stale entry could not give a wrong page
/// anyway: a (RowKey, row hash) pair is true forever and the listing of the
/// partition, read on every page, stays the authority on what exists.
///
/// Holds RowKeys in clear, as a worker holds any entity it serves, and no
/// key material; keyed by the account key's check value, so an index of
/// another key generation is never consulted. Emptied when its entries
/// reach `byteLimit` bytes.
final class PartitionIndexCache: Sendable {
    struct Key: Hashable {
        var map: RecordMapName
        var prefix: String
        var keyCheck: [UInt8]
    }

    /// One partition's index as read: its rows in RowKey order (UTF-8 bytes) with their main record keys.
    final class Entry: Sendable {
        /// Chunk 00's sealed bytes: what the entry is valid for, and what a rewrite is conditional on.
        let first: [UInt8]
        /// The keys of the chunks read (a rewrite removes those it does not write).
        let chunkKeys: [String]
        let rows: [IndexRow]
        /// Main record keys (`e-<P>-<R>`) of `rows`, in key order (as a listing gives them).
        let mains: [String]
        let bytes: Int

        init(first: [UInt8], chunkKeys: [String], rows: [IndexRow]) {
            self.first = first
            self.chunkKeys = chunkKeys
            var rows = rows, mains = IndexRow.sortedInByteOrder(rows.map(\.main))
            // A main twice (chunks of two generations put together) sits beside itself once sorted.
            if zip(mains, mains.dropFirst()).contains(where: { $0 == $1 }) {
                rows = IndexRow.inRowKeyOrderOnce(rows)
                mains = IndexRow.sortedInByteOrder(rows.map(\.main))
            }
            self.rows = rows
            self.mains = mains
            self.bytes = first.count + rows.reduce(0) { $0 + 112 + $1.rowKey.utf8.count + 2 * $1.main.utf8.count }
        }
    }

    private let entries = Mutex<(map: [Key: Entry], bytes: Int)>(([:], 0))
    let byteLimit: Int

    init(byteLimit: Int = 64 << 20) { self.byteLimit = byteLimit }

    subscript(key: Key) -> Entry? {
        get { entries.withLock { $0.map[key] } }
        set {
            entries.withLock { state in
                if let old = state.map.removeValue(forKey: key) { state.bytes -= old.bytes }
                guard let newValue, newValue.bytes <= byteLimit else { return }
                if state.bytes + newValue.bytes > byteLimit { state = ([:], 0) }
                state.map[key] = newValue
                state.bytes += newValue.bytes
            }
        }
    }
}

/// A row of a partition: its RowKey and main record key.
struct IndexRow: Sendable {
    var rowKey: String
    var main: String

    /// How `a` and `b` compare in UTF-8 byte order (the order of a table's rows, and of record keys): < 0, 0 or > 0.
    static func order(_ a: String, _ b: String) -> Int {
        var a = a, b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in
                let common = min(x.count, y.count)
                let order = common == 0 ? 0 : Int(memcmp(x.baseAddress!, y.baseAddress!, common))
                return order != 0 ? order : x.count - y.count
            }
        }
    }

    /// Whether `a` sorts before `b` in UTF-8 byte order.
    static func precedes(_ a: String, _ b: String) -> Bool { order(a, b) < 0 }

    static func inOrder(_ a: IndexRow, _ b: IndexRow) -> Bool { precedes(a.rowKey, b.rowKey) }

    /// Strings in UTF-8 byte order (`precedes`).
    static func sortedInByteOrder(_ strings: [String]) -> [String] { sortedInByteOrder(strings) { $0 } }

    /// `items` sorted by `string` in UTF-8 byte order, stably (equal strings keep their order).
    ///
    /// Sorts (8 bytes, position) pairs and compares whole strings only where
    /// the 8 bytes tie: a partition's 10,000 rows sort in about a millisecond,
    /// where comparing Strings throughout (retains, releases and a `memcmp`
    /// per comparison) took 8.5 (the first page of a scan sorts its rows, and
    /// the index it writes sorts their keys). The 8 bytes are the ones after the prefix every
    /// string shares (main keys of a partition share 43), zero-padded and
    /// big-endian: in byte order, so whole strings decide only ties.
    static func sortedInByteOrder<T>(_ items: [T], by string: (T) -> String) -> [T] {
        guard items.count > 1 else { return items }
        let shared = sharedPrefixLength(items.map(string))
        var order: [(bytes: UInt64, position: Int)] = []
        order.reserveCapacity(items.count)
        for (position, item) in items.enumerated() {
            var s = string(item)
            let bytes = s.withUTF8 { utf8 in
                var v: UInt64 = 0
                for i in shared..<(shared + 8) { v = v << 8 | UInt64(i < utf8.count ? utf8[i] : 0) }
                return v
            }
            order.append((bytes, position))
        }
        order.sort { a, b in
            if a.bytes != b.bytes { return a.bytes < b.bytes }
            let o = Self.order(string(items[a.position]), string(items[b.position]))
            return o != 0 ? o < 0 : a.position < b.position
        }
        return order.map { items[$0.position] }
    }

    /// How many leading UTF-8 bytes all of `strings` share.
    private static func sharedPrefixLength(_ strings: [String]) -> Int {
        guard var first = strings.first else { return 0 }
        return first.withUTF8 { head in
            var shared = head.count
            for var s in strings.dropFirst() where shared > 0 {
                shared = s.withUTF8 { utf8 in
                    var n = 0
                    while n < shared && n < utf8.count && utf8[n] == head[n] { n += 1 }
                    return n
                }
            }
            return shared
        }
    }

    /// `rows` in RowKey order: as given when they already are.
    static func inRowKeyOrder(_ rows: [IndexRow]) -> [IndexRow] {
        zip(rows, rows.dropFirst()).contains(where: { !inOrder($0, $1) }) ? sortedInByteOrder(rows, by: \.rowKey) : rows
    }

    /// `rows` in RowKey order with each main key once (the first kept): as given when they already are.
    static func inRowKeyOrderOnce(_ rows: [IndexRow]) -> [IndexRow] {
        let out = inRowKeyOrder(rows)
        var seen = Set<String>(minimumCapacity: out.count)
        if out.allSatisfy({ seen.insert($0.main).inserted }) { return out }
        seen.removeAll(keepingCapacity: true)
        return out.filter { seen.insert($0.main).inserted }
    }
}

/// The keys of a partition as listed (keys only): its main record keys in
/// key order, and the piece keys listed with each main key that has any.
struct PartitionListing {
    private(set) var mains: [String] = []
    private var pieces: [String: [String]] = [:]

    private var unordered = false

    /// From keys in key order (a piece key `<main>-<2 hex>` right after its main key, or alone if the main went meanwhile).
    init(_ keys: [String] = []) {
        for key in keys { add(key) }
        finish()
    }

    mutating func add(_ key: String) {
        let main = EntityRecord.isPieceKey(key) ? String(key.dropLast(3)) : key
        if main != key { pieces[main, default: []].append(key) }
        guard mains.last != main else { return }
        if let last = mains.last, !IndexRow.precedes(last, main) { unordered = true }
        mains.append(main)
    }

    /// After the last `add`. A backend lists in key order; should one ever not, sort rather than miss rows.
    mutating func finish() {
        guard unordered else { return }
        mains = Array(Set(mains)).sorted(by: IndexRow.precedes)
        unordered = false
    }

    var count: Int { mains.count }
    var isEmpty: Bool { mains.isEmpty }

    func contains(_ main: String) -> Bool {
        var (low, high) = (0, mains.count)
        while low < high {
            let middle = (low + high) / 2
            let order = IndexRow.order(mains[middle], main)
            if order == 0 { return true }
            if order < 0 { low = middle + 1 } else { high = middle }
        }
        return false
    }

    /// The piece keys listed with `main`.
    func pieces(of main: String) -> [String] { pieces.isEmpty ? [] : pieces[main] ?? [] }

    /// Listed mains `index` (in key order) lacks, and how many it has.
    func unknown(to index: [String]) -> (unknown: [String], known: Int) {
        var unknown: [String] = [], known = 0, j = 0
        for main in mains {
            var order = 1
            while j < index.count {
                order = IndexRow.order(index[j], main)
                if order >= 0 { break }
                j += 1
            }
            if j < index.count && order == 0 {
                known += 1
                j += 1
            } else {
                unknown.append(main)
            }
        }
        return (unknown, known)
    }
}
