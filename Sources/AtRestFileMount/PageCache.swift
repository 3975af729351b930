import Synchronization

/// An async mutual exclusion: one holder at a time, waiters resumed in
/// FIFO order (the I/O of one open file is serialised by it; the page
/// dictionaries themselves are under a `Mutex`, never held across a call).
actor AsyncLock {
    private var held = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func lock() async {
        if !held {
            held = true
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func unlock() {
        if waiting.isEmpty { held = false } else { waiting.removeFirst().resume() }
    }
}

extension AsyncLock {
    nonisolated func run<T>(_ body: () async throws -> T) async throws -> T {
        await lock()
        do {
            let result = try await body()
            await unlock()
            return result
        } catch {
            await unlock()
            throw error
        }
    }
}

/// One cached page of a file: `PageCache.pageSize` bytes (zeros past the
/// data), and the byte range written since the last write-back.
struct Page {
    var bytes: [UInt8]
    var dirty: Range<Int>?
    var lastUse: UInt64
    /// Bumped by every write into the page: a write-behind that sent an older version leaves it dirty.
    var version: UInt64 = 0
    /// Part of a write-behind in flight (not sent again until it ends).
    var uploading = false

    init(_ bytes: [UInt8], lastUse: UInt64) {
        self.bytes = bytes
        if self.bytes.count < PageCache.pageSize { self.bytes += [UInt8](repeating: 0, count: PageCache.pageSize - self.bytes.count) }
        self.lastUse = lastUse
    }
}

/// The mount's page budget: bytes cached and bytes dirty over every open
/// file. Clean pages are dropped, least recently used first, once the
/// cache passes its size (down to 7/8 of it); a writer writes its file's
/// dirty pages back once the mount's dirty bytes pass half the size.
final class PageCache: Sendable {
    /// The store's chunk size (docs/FORMAT.md "Files").
    static let pageSize = 65_536
    /// Pages read ahead past a miss (1 MiB in all): the unit of a fetch.
    static let readAheadPages = 16
    /// Fetches of `readAheadPages` kept in flight ahead of a sequential reader (4 MiB).
    static let readAheadWindows = 4
    /// A write-behind sends a whole block of this many bytes (the service's largest write) once every page of it is written.
    static let writeBehindBytes = 4 << 20
    /// Write-behinds in flight per open file (past it the writer waits for the oldest).
    static let writeBehindsInFlight = 4

    let capacity: Int
    private struct Ledger {
        var cached = 0
        var dirty = 0
        var clock: UInt64 = 0
    }
    private let ledger = Mutex(Ledger())

    init(capacity: Int) { self.capacity = max(capacity, 4 * Self.pageSize) }

    func tick() -> UInt64 {
        ledger.withLock { ledger in
            ledger.clock &+= 1
            return ledger.clock
        }
    }

    func account(cached: Int, dirty: Int) {
        ledger.withLock { ledger in
            ledger.cached += cached
            ledger.dirty += dirty
        }
    }

    var cachedBytes: Int { ledger.withLock { $0.cached } }
    var dirtyBytes: Int { ledger.withLock { $0.dirty } }
    var overDirtyBound: Bool { dirtyBytes > capacity / 2 }

    /// Drops clean pages of `files`, oldest first, until the cache is below 7/8 of its size.
    func evict(_ files: [OpenFile]) {
        guard cachedBytes > capacity else { return }
        var candidates: [(use: UInt64, file: OpenFile, page: UInt64)] = []
        for file in files {
            file.state.withLock { state in
                for (index, page) in state.pages where page.dirty == nil { candidates.append((page.lastUse, file, index)) }
            }
        }
        candidates.sort { $0.use < $1.use }
        let target = capacity - capacity / 8
        for candidate in candidates {
            if cachedBytes <= target { break }
            candidate.file.state.withLock { state in
                if let page = state.pages[candidate.page], page.dirty == nil {
                    state.pages[candidate.page] = nil
                    account(cached: -Self.pageSize, dirty: 0)
                }
            }
        }
    }
}

/// An open file of the mount: its size as this mount sees it (writes not
/// yet written back included), its cached pages, and the count of open
/// handles. Calls on one open file run one at a time (`lock`).
final class OpenFile: Sendable {
    struct State {
        /// Relative path in the share (changes with renames).
        var path: String
        var size: UInt64
        /// The size the service has (after the last write-back or resize).
        var serverSize: UInt64
        /// The service's modification and change times when this mount last saw them.
        var serverMtimeMs: Int64
        var serverCtimeMs: Int64
        /// Written, resized or created through this mount since it was opened:
        /// its attributes on the service are no longer the ones seen at open.
        var changedHere = false
        var pages: [UInt64: Page] = [:]
        var handles = 0
        /// Written to since the modification time was last stamped (flush) or set (utimens).
        var modified = false
        /// Created by this mount and not yet on the service (its first write-back creates it with its data):
        /// the attributes it shows meanwhile.
        var pending: ShareEntry?
        /// A modification time set (utimens) while the file was pending and not written to since:
        /// set on the service right after its creation, in the same write-back.
        var timeToSet: Int64?
        /// Write calls sent since then, and whether the last one ended past the service's size (the
        /// service stamps the time of a write that grows the file: one such write needs no flush).
        var writesSinceStamp = 0
        var lastWriteGrew = false
        /// Bumped by every write and resize: a fetch started before one is not cached.
        var epoch: UInt64 = 0
        /// Write-behinds in flight, oldest first.
        var uploads: [Task<Void, Never>] = []
        /// Fetches in flight, by window (`PageCache.readAheadPages` pages each).
        var fetches: [UInt64: Task<Void, any Error>] = [:]
        /// Where the last read ended: a read starting there is sequential and reads ahead.
        var lastReadEnd: UInt64 = 0
        /// Notes a write call of [start, end) sent now (under the state's lock).
        mutating func sent(end: UInt64) {
            writesSinceStamp += 1
            lastWriteGrew = end > serverSize
        }
    }
    let state: Mutex<State>
    let lock = AsyncLock()

    init(path: String, entry: ShareEntry) {
        state = Mutex(State(path: path, size: entry.size, serverSize: entry.size, serverMtimeMs: entry.mtimeMs,
                            serverCtimeMs: entry.ctimeMs))
    }

    var path: String { state.withLock { $0.path } }
}
