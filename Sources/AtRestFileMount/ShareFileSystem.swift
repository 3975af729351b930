import AtRestFUSE
import AtRestLocalState
import Foundation
import Glibc
import Synchronization

/// A file share as a FUSE file system (`atrest mount`; docs/OPERATIONS.md
/// "Mounting a share").
///
/// Every kernel call becomes `ShareFileService` calls, each with a
/// deadline (`callTimeout`; past it EIO). Reads and writes go through a
/// page cache of `PageCache.pageSize` pages bounded per mount
/// (`cacheSize`): writes stay in the cache until close (flush), fsync,
/// release, an explicit time change, a rename, a truncate, or the mount's
/// dirty bytes passing half the cache, except whole 4 MiB blocks, sent as
/// soon as they are written (write-behind); reads fetch what is missing a
/// 1 MiB window at a time, a sequential reader four windows ahead. A file
/// created here is held until its first write-back, which creates it with
/// its data and mode in one call (then sets a time utimens gave it
/// meanwhile). Consistency between mounts is close-to-open: a close writes
/// everything back; an open asks the service for the file's
/// attributes and drops the cached pages when the file changed; pages are
/// dropped at the last close. The kernel caches attributes and names for
/// the mount options' timeouts (1 s by default), and (`kernelCache`) keeps
/// a file's pages from one open to the next when the open finds the file
/// as it was when this mount last closed it unchanged (`KernelPages`).
public final class ShareFileSystem: FUSEFileSystem {
    public static let defaultCacheSize = 64 << 20
    public static let defaultCallTimeout = 60.0

    private let service: any ShareFileService
    private let cache: PageCache
    private let callTimeout: Double
    private let uid = getuid(), gid = getgid()

    private struct Registry {
        var byPath: [String: OpenFile] = [:]
        var byHandle: [UInt64: OpenFile] = [:]
        var nextHandle: UInt64 = 1
    }
    private let registry = Mutex(Registry())

    /// Attributes seen in the last `attributeTTL` (from stat, create and
    /// readdir), dropped by every change this mount makes to the path: the
    /// kernel's lookups after a create or a readdir need no call of their own.
    private let attributeCache = Mutex<[String: (entry: ShareEntry, expires: ContinuousClock.Instant)]>([:])
    static let attributeTTL = Duration.seconds(1)

    /// Directories' complete listings, which answer the kernel's lookup of a
    /// missing name (before every create) without a call (`DirectoryListings`).
    private let listings: Mutex<DirectoryListings>
    public static let defaultListingTimeout = 1.0
    /// The least a lookup that asked the service took, to weigh listing a directory again against: a lower
    /// bound (an average drifts with the load of whatever ran when lookups last asked, and while listings answer
    /// them none asks to correct it), so the mount errs towards asking per name.
    private let lookupCost = Mutex<Duration?>(nil)

    /// Close-to-open for the kernel's page cache. The kernel may keep the
    /// pages it cached of a file across close and open (FOPEN_KEEP_CACHE)
    /// when the file is still what this mount saw: at the last close of a
    /// file this mount did not change, its size, mtime and ctime as the
    /// service gave them at open are noted by path; an open whose stat
    /// (always asked of the service) finds the same three keeps the pages,
    /// any other open has the kernel drop them. A change elsewhere becomes
    /// visible at its writer's close or flush, as NFS's: the service sets a
    /// file's ctime on every change of its record (a flush, which every
    /// mount sends at close after writing, a resize, a time or mode change,
    /// a rename), strictly later than the ctime before, so no change can
    /// leave the three as they were. Writes within a file's size that were
    /// never flushed change no time: a mount that kept its pages does not
    /// see them until they are (OPERATIONS.md "Mounting a share").
    private struct KernelPages {
        struct Seen: Equatable { var size: UInt64, mtimeMs: Int64, ctimeMs: Int64 }
        var seen: [String: Seen] = [:]
        /// Handles whose open answered "keep", until the FUSE layer asks (`keepsKernelCache`).
        var keep: Set<UInt64> = []
        static let limit = 100_000
    }
    private let kernelPages = Mutex(KernelPages())
    private let kernelCache: Bool

    /// - Parameters:
    ///   - kernelCache: let the kernel keep a file's pages from one open to
    ///     the next when the file did not change (`KernelPages`); false:
    ///     every open drops them, so an open also sees writes other clients
    ///     made without flushing.
    ///   - listingTimeout: seconds a directory's listing answers lookups of
    ///     missing names in it (`DirectoryListings`); 0: every lookup asks
    ///     the service.
    public init(service: any ShareFileService, cacheSize: Int = ShareFileSystem.defaultCacheSize,
                callTimeout: Double = ShareFileSystem.defaultCallTimeout, kernelCache: Bool = true,
                listingTimeout: Double = ShareFileSystem.defaultListingTimeout) {
        self.service = service
        cache = PageCache(capacity: cacheSize)
        self.callTimeout = callTimeout
        self.kernelCache = kernelCache
        listings = Mutex(DirectoryListings(ttl: .milliseconds(Int64((max(0, listingTimeout) * 1000).rounded()))))
    }

    /// Bytes cached and not yet written back, over every open file (for tests and logs).
    public var dirtyBytes: Int { cache.dirtyBytes }
    public var cachedBytes: Int { cache.cachedBytes }

    // MARK: paths and calls

    /// "/a/b" → "a/b" ("/" → ""), refusing names the share cannot hold with the errno the kernel expects.
    static func sharePath(_ path: String) throws -> String {
        let relative = SlashPath.relative(path)
        guard relative.utf8.count <= 4096 else { throw FUSEError(errno: ENAMETOOLONG, "path longer than 4096 bytes") }
        for component in SlashPath.split(relative) where component.utf8.count > 255 {
            throw FUSEError(errno: ENAMETOOLONG, "name longer than 255 bytes")
        }
        return relative
    }

    /// One service call with the deadline, its failure as a `FUSEError`.
    private func call<T: Sendable>(_ what: @autoclosure @escaping @Sendable () -> String,
                                   _ body: @escaping @Sendable (any ShareFileService) async throws -> T) async throws -> T {
        let service = self.service
        do {
            return try await withDeadline(callTimeout, what) { try await body(service) }
        } catch {
            throw FileErrno.fuseError(error, what())
        }
    }

    private func openFile(_ handle: FUSEFileHandle?) -> OpenFile? {
        guard let handle else { return nil }
        return registry.withLock { $0.byHandle[handle.rawValue] }
    }

    private func openFile(path: String) -> OpenFile? { registry.withLock { $0.byPath[path] } }

    private func file(_ handle: FUSEFileHandle) throws -> OpenFile {
        guard let file = openFile(handle) else { throw FUSEError(errno: EBADF, "no open file \(handle.rawValue)") }
        return file
    }

    private func attributes(_ entry: ShareEntry, size: UInt64? = nil) -> FUSEAttributes {
        func time(_ ms: Int64) -> FUSETimestamp {
            let seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000
            return FUSETimestamp(seconds: seconds, nanoseconds: Int32((ms - seconds * 1000) * 1_000_000))
        }
        return FUSEAttributes(
            kind: entry.isDirectory ? .directory : .regular, permissions: entry.mode, size: Int64(size ?? entry.size),
            linkCount: entry.isDirectory ? 2 : 1, uid: uid, gid: gid,
            accessTime: time(entry.mtimeMs), modificationTime: time(entry.mtimeMs), changeTime: time(entry.ctimeMs))
    }

    // MARK: attributes and directories

    public func getattr(_ path: String, handle: FUSEFileHandle?) async throws -> FUSEAttributes {
        if let answer = getattrImmediately(path, handle: handle) { return try answer.get() }
        let relative = try Self.sharePath(path)
        let open = openFile(handle) ?? openFile(path: relative)
        let name = open?.path ?? relative
        if let open, let pending = open.state.withLock({ $0.pending }) { return attributes(pending, size: open.state.withLock { $0.size }) }
        let entry: ShareEntry
        if open == nil, await isKnownMissing(name) {  // the directory listed again, when that pays
            throw FUSEError(errno: ENOENT, "no '\(path)' in this mount's listing of its directory")
        } else if let cached = cachedEntry(name) {
            entry = cached
        } else {
            let started = ContinuousClock.now
            do {
                entry = try await call("stat '\(path)'") { try await $0.stat(name) }
            } catch let error as FUSEError where error.errno == ENOENT {
                noteLookup(ContinuousClock.now - started)
                throw error
            }
            noteLookup(ContinuousClock.now - started)  // what the service answered, not a call that failed early
            remember(name, entry)
        }
        // An open file's size includes what is written and not yet written back.
        return attributes(entry, size: open.map { file in file.state.withLock { $0.size } })
    }

    /// What `getattr` answers without a call, on libfuse's thread: a held
    /// file, attributes seen in the last second, a name this mount's
    /// current listing of its directory does not have (ENOENT).
    public func getattrImmediately(_ path: String, handle: FUSEFileHandle?) -> Result<FUSEAttributes, FUSEError>? {
        let relative: String
        do { relative = try Self.sharePath(path) } catch let error as FUSEError { return .failure(error) } catch { return nil }
        let open = openFile(handle) ?? openFile(path: relative)
        let name = open?.path ?? relative
        if let open, let pending = open.state.withLock({ $0.pending }) { return .success(attributes(pending, size: open.state.withLock { $0.size })) }
        if let cached = cachedEntry(name) {
            // An open file's size includes what is written and not yet written back.
            return .success(attributes(cached, size: open.map { file in file.state.withLock { $0.size } }))
        }
        if open == nil, !name.isEmpty, listings.withLock({ $0.answersAbsent(name, now: .now) }) {
            return .failure(FUSEError(errno: ENOENT, "no '\(path)' in this mount's listing of its directory"))
        }
        return nil
    }

    public func readdir(_ path: String) async throws -> [FUSEDirectoryEntry] {
        let relative = try Self.sharePath(path)
        try await createPending(under: relative)
        let entries = try await list(relative)
        return entries.map { FUSEDirectoryEntry(name: $0.name, kind: $0.isDirectory ? .directory : .regular) }
    }

    public func mkdir(_ path: String, mode: UInt32) async throws {
        let relative = try Self.sharePath(path)
        let since = listings.withLock { $0.changes }
        try await changing(relative) { try await self.call("mkdir '\(path)'") { try await $0.createDirectory(relative, mode: mode & 0o7777) } }
        listings.withLock { listings in
            listings.learn(relative, names: [], now: .now, since: since)  // a new directory is empty
            listings.add(relative)
        }
        invalidate(relative)
    }

    public func rmdir(_ path: String) async throws {
        let relative = try Self.sharePath(path)
        try await createPending(under: relative)
        try await changing(relative) { try await self.call("rmdir '\(path)'") { try await $0.deleteDirectory(relative) } }
        listings.withLock { $0.remove(relative) }
        invalidate(relative, subtree: true)
    }

    public func unlink(_ path: String) async throws {
        let relative = try Self.sharePath(path)
        try await createPending(under: relative)
        try await changing(relative) { try await self.call("unlink '\(path)'") { try await $0.deleteFile(relative) } }
        listings.withLock { $0.remove(relative) }
        invalidate(relative)
        // An open file unlinked (hard_remove): its handles keep working on the pages they hold, writes back fail ENOENT.
        forget(under: relative, directory: false)
    }

    public func rename(_ from: String, to: String, flags: FUSERenameFlags) async throws {
        let source = try Self.sharePath(from), target = try Self.sharePath(to)
        let exchange = flags.contains(.exchange)
        try await createPending(under: target)
        // Open files being moved write back first: their later write-backs go to the new path.
        for file in openFiles(under: source) + (exchange ? openFiles(under: target) : []) {
            try await file.lock.run { try await writeBack(file) }
        }
        if exchange {
            invalidate(source, subtree: true)
            invalidate(target, subtree: true)
            defer {
                invalidate(source, subtree: true)
                invalidate(target, subtree: true)
            }
            // The names stay in their directories; what is below them swaps: their listings go.
            listings.withLock { listings in
                listings.forget(source)
                listings.forget(target)
            }
            try await call("exchange '\(from)' and '\(to)'") { try await $0.exchange(source, target) }
            registry.withLock { registry in
                var moved: [String: OpenFile] = [:]
                for (path, file) in registry.byPath {
                    let swapped: String
                    if path == source || path.hasPrefix(source + "/") {
                        swapped = target + path.dropFirst(source.count)
                    } else if path == target || path.hasPrefix(target + "/") {
                        swapped = source + path.dropFirst(target.count)
                    } else {
                        moved[path] = file
                        continue
                    }
                    moved[swapped] = file
                    file.state.withLock { $0.path = swapped }
                }
                registry.byPath = moved
            }
            return
        }
        invalidate(source, subtree: true)
        invalidate(target, subtree: true)
        defer {
            invalidate(source, subtree: true)
            invalidate(target, subtree: true)
        }
        try await changing(source, target) {
            try await self.call("rename '\(from)' to '\(to)'") { try await $0.rename(source, to: target, replace: !flags.contains(.noReplace)) }
        }
        listings.withLock { listings in
            listings.remove(source)
            listings.remove(target)  // what it replaced, and listings below it
            listings.add(target)
        }
        forget(under: target, directory: true)
        registry.withLock { registry in
            for (path, file) in registry.byPath where path == source || path.hasPrefix(source + "/") {
                let moved = target + path.dropFirst(source.count)
                registry.byPath[path] = nil
                registry.byPath[moved] = file
                file.state.withLock { $0.path = moved }
            }
        }
    }

    public func chmod(_ path: String, mode: UInt32, handle: FUSEFileHandle?) async throws {
        let name = try openFile(handle)?.path ?? Self.sharePath(path)
        // A file not yet created on the service takes the mode with it.
        if let file = openFile(handle) ?? openFile(path: name), file.state.withLock({ state -> Bool in
            guard state.pending != nil else { return false }
            state.pending!.mode = mode & 0o7777
            return true
        }) { return }
        // Already so (cp -a sets the mode a create just gave): nothing to do.
        if let cached = cachedEntry(name), cached.mode == mode & 0o7777 { return }
        invalidate(name)
        defer { invalidate(name) }
        try await call("chmod '\(path)'") { try await $0.setMode(name, mode: mode & 0o7777) }
    }

    /// Owners are not stored: every entry shows the mounting process's uid
    /// and gid. Setting those (as `cp -a` and `tar -x` run by that user do)
    /// succeeds and changes nothing; any other owner is EPERM.
    public func chown(_ path: String, uid: UInt32?, gid: UInt32?, handle: FUSEFileHandle?) async throws {
        guard uid == nil || uid == self.uid, gid == nil || gid == self.gid else {
            throw FUSEError(errno: EPERM, "owners are not stored: entries belong to uid \(self.uid), gid \(self.gid)")
        }
        if handle == nil { _ = try await getattr(path, handle: nil) }  // ENOENT for a name that is not there
    }

    public func utimens(_ path: String, access: FUSETimeUpdate, modification: FUSETimeUpdate, handle: FUSEFileHandle?) async throws {
        let relative = try Self.sharePath(path)
        let mtimeMs: Int64
        switch modification {
        case .omit: return  // access times are not kept
        case .now: mtimeMs = Int64(Date().timeIntervalSince1970 * 1000)
        case .set(let time): mtimeMs = time.seconds * 1000 + Int64(time.nanoseconds / 1_000_000)
        }
        invalidate(openFile(handle)?.path ?? relative)
        defer { invalidate(openFile(handle)?.path ?? relative) }
        guard let file = openFile(handle) ?? openFile(path: relative) else {
            return try await call("utimens '\(path)'") { try await $0.setTimes(relative, mtimeMs: mtimeMs) }
        }
        // Data written before the time is set must not stamp over it at close (cp -a and rsync set times on open files).
        // Setting the time stamps the file as flush would: no flush after it unless written to again.
        try await file.lock.run {
            // A file not yet created takes the time with its creation (cp -a: create, write, utimens,
            // chmod, close make one create and one setTimes at close, not a create now and two calls).
            if file.state.withLock({ state -> Bool in
                guard state.pending != nil else { return false }
                state.pending!.mtimeMs = mtimeMs
                state.timeToSet = mtimeMs
                return true
            }) { return }
            try await writeBack(file)
            let name = file.path
            try await call("utimens '\(path)'") { try await $0.setTimes(name, mtimeMs: mtimeMs) }
            file.state.withLock { state in
                state.serverMtimeMs = mtimeMs
                state.modified = false
                state.writesSinceStamp = 0
            }
        }
    }

    public func statfs(_ path: String) async throws -> FUSEStatFS {
        let usage = try await call("statfs") { try await $0.usage() }
        let block: UInt64 = 4096
        let free = usage.quotaBytes > usage.usedBytes ? (usage.quotaBytes - usage.usedBytes) / block : 0
        let entries = usage.files + usage.directories
        return FUSEStatFS(blockSize: block, blocks: usage.quotaBytes / block, blocksFree: free, blocksAvailable: free,
                          files: entries + 1_000_000_000, filesFree: 1_000_000_000)
    }

    // MARK: open files

    /// A new name (the kernel has just looked it up and found nothing) is
    /// held in this mount until its first write-back (close, fsync, a
    /// write-behind, a rename, a listing of its directory, …), which
    /// creates it on the service with its data in one call (`createPending`).
    public func create(_ path: String, mode: UInt32, flags: FUSEOpenFlags) async throws -> FUSEFileHandle {
        if let held = createImmediately(path, mode: mode, flags: flags) { return try held.get() }
        let relative = try Self.sharePath(path)
        do {
            let entry = try await changing(relative) {
                try await self.call("create '\(path)'") { try await $0.createFile(relative, mode: mode & 0o7777, mtimeMs: nil) }
            }
            listings.withLock { $0.add(relative) }
            remember(relative, entry)
            return register(relative, entry: entry)
        } catch let error as FUSEError where error.errno == EEXIST && !flags.exclusive {
            return try await open(path, flags: flags)
        }
    }

    /// The held create, on libfuse's thread: a name no file of this mount
    /// has open is registered, pending, with no call (`create`).
    public func createImmediately(_ path: String, mode: UInt32, flags: FUSEOpenFlags) -> Result<FUSEFileHandle, FUSEError>? {
        let relative: String
        do { relative = try Self.sharePath(path) } catch let error as FUSEError { return .failure(error) } catch { return nil }
        guard openFile(path: relative) == nil else { return nil }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let entry = ShareEntry(name: SlashPath.split(relative).last ?? "", isDirectory: false, size: 0, mode: mode & 0o7777,
                               ctimeMs: now, mtimeMs: now)
        listings.withLock { $0.add(relative) }
        return .success(register(relative, entry: entry, pending: true))
    }

    public func open(_ path: String, flags: FUSEOpenFlags) async throws -> FUSEFileHandle {
        let relative = try Self.sharePath(path)
        let entry: ShareEntry
        if let pending = openFile(path: relative)?.state.withLock({ $0.pending }) {
            entry = pending
        } else {
            entry = try await call("open '\(path)'") { try await $0.stat(relative) }
            remember(relative, entry)
        }
        guard !entry.isDirectory else { throw FUSEError(errno: EISDIR, "'\(path)' is a directory") }
        let handle = register(relative, entry: entry)
        if kernelCache, !flags.truncate {
            let now = KernelPages.Seen(size: entry.size, mtimeMs: entry.mtimeMs, ctimeMs: entry.ctimeMs)
            kernelPages.withLock { pages in
                if pages.seen[relative] == now { pages.keep.insert(handle.rawValue) }
            }
        }
        if flags.truncate, let file = openFile(handle) {
            do {
                try await file.lock.run { try await resize(file, to: 0) }
            } catch {
                try? await release(path, handle: handle)
                throw error
            }
        }
        return handle
    }

    public func keepsKernelCache(_ handle: FUSEFileHandle) -> Bool {
        kernelPages.withLock { $0.keep.remove(handle.rawValue) != nil }
    }

    /// A new handle on the path's open file, revalidated against `entry` (close-to-open).
    private func register(_ path: String, entry: ShareEntry, pending: Bool = false) -> FUSEFileHandle {
        registry.withLock { registry in
            let handle = registry.nextHandle
            registry.nextHandle += 1
            let file: OpenFile
            if let open = registry.byPath[path] {
                file = open
                file.state.withLock { state in
                    // Changed elsewhere since this mount looked: drop the clean pages (dirty ones are this mount's newer writes).
                    if state.serverSize != entry.size || state.serverMtimeMs != entry.mtimeMs || state.serverCtimeMs != entry.ctimeMs {
                        state.epoch &+= 1
                        for (index, page) in state.pages where page.dirty == nil {
                            state.pages[index] = nil
                            cache.account(cached: -PageCache.pageSize, dirty: 0)
                        }
                        if state.size == state.serverSize { state.size = entry.size }
                        state.serverSize = entry.size
                        state.serverMtimeMs = entry.mtimeMs
                        state.serverCtimeMs = entry.ctimeMs
                    }
                }
            } else {
                file = OpenFile(path: path, entry: entry)
                if pending { file.state.withLock { $0.pending = entry; $0.changedHere = true } }
                registry.byPath[path] = file
            }
            file.state.withLock { $0.handles += 1 }
            registry.byHandle[handle] = file
            return FUSEFileHandle(handle)
        }
    }

    public func read(_ path: String, handle: FUSEFileHandle, offset: Int64, count: Int) async throws -> [UInt8] {
        let file = try file(handle)
        guard offset >= 0, count > 0 else { return [] }
        return try await file.lock.run { try await read(file, offset: UInt64(offset), count: count) }
    }

    /// A read whose pages are all cached, answered on libfuse's thread (a
    /// sequential reader's reads, once read-ahead has fetched them): it
    /// starts the read-ahead as `read` would and copies under the file's
    /// state lock, the lock writes and truncations change pages under, so
    /// it sees each of them whole or not at all, as `read` does. Without
    /// the hop to the task pool and back for each 128 KiB the kernel asks
    /// for, sequential reads of the mount went from 380-434 to 438-479
    /// MiB/s in alternated runs (docs/BENCHMARKS.md "Files", session 17).
    /// nil when a page is missing: `read` fetches it.
    public func readImmediately(_ path: String, handle: FUSEFileHandle, offset: Int64, count: Int) -> [ArraySlice<UInt8>]? {
        guard offset >= 0, count > 0, let file = try? file(handle) else { return nil }
        let pageSize = UInt64(PageCache.pageSize), start = UInt64(offset)
        let bytes: [ArraySlice<UInt8>]? = file.state.withLock { state in
            guard start < state.size else { return [] }
            let end = min(start + UInt64(count), state.size)
            guard (start / pageSize ... (end - 1) / pageSize).allSatisfy({ state.pages[$0] != nil }) else { return nil }
            _ = plan(file, offset: start, count: count, &state)
            return cachedPieces(from: start, to: end, &state)
        }
        if bytes != nil { evict() }
        return bytes
    }

    public func write(_ path: String, handle: FUSEFileHandle, offset: Int64, bytes: [UInt8]) async throws -> Int {
        let file = try file(handle)
        guard offset >= 0 else { throw FUSEError(errno: EINVAL, "negative offset") }
        guard !bytes.isEmpty else { return 0 }
        try await file.lock.run {
            try await write(file, offset: UInt64(offset), bytes: bytes)
            try await writeBehind(file, offset: UInt64(offset), end: UInt64(offset) + UInt64(bytes.count))
            if cache.overDirtyBound { try await writeBack(file) }
        }
        evict()
        return bytes.count
    }

    public func truncate(_ path: String, size: Int64, handle: FUSEFileHandle?) async throws {
        guard size >= 0 else { throw FUSEError(errno: EINVAL, "negative size") }
        let relative = try Self.sharePath(path)
        guard let file = openFile(handle) ?? openFile(path: relative) else {
            invalidate(relative)
            defer { invalidate(relative) }
            return try await call("truncate '\(path)'") { try await $0.resize(relative, size: UInt64(size)) }
        }
        try await file.lock.run { try await resize(file, to: UInt64(size)) }
    }

    public func fsync(_ path: String, handle: FUSEFileHandle?, dataOnly: Bool) async throws {
        guard let file = try openFile(handle) ?? openFile(path: Self.sharePath(path)) else { return }
        try await file.lock.run { try await writeBack(file, stamp: true) }
    }

    /// close(2): everything written through this mount reaches the service (close-to-open).
    public func flush(_ path: String, handle: FUSEFileHandle) async throws {
        let file = try file(handle)
        try await file.lock.run { try await writeBack(file, stamp: true) }
    }

    public func release(_ path: String, handle: FUSEFileHandle) async throws {
        guard let file = registry.withLock({ $0.byHandle.removeValue(forKey: handle.rawValue) }) else { return }
        try await file.lock.run {
            defer {
                let last = file.state.withLock { state in
                    state.handles -= 1
                    return state.handles == 0
                }
                if last { drop(file) }
            }
            try await writeBack(file, stamp: true)
        }
    }

    // MARK: directories' listings

    /// Every entry of `directory` from the service: their attributes are
    /// remembered, and the names (with those of files this mount holds
    /// there) answer lookups for the listing timeout.
    private func list(_ directory: String) async throws -> [ShareEntry] {
        let since = listings.withLock { $0.changes }, started = ContinuousClock.now
        let entries = try await call("list '\(directory.isEmpty ? "/" : directory)'") { try await $0.list(directory) }
        let cost = ContinuousClock.now - started
        for entry in entries { remember(directory.isEmpty ? entry.name : directory + "/" + entry.name, entry) }
        let held = registry.withLock { registry in
            registry.byPath.keys.filter { DirectoryListings.split($0).parent == directory }.map { DirectoryListings.split($0).name }
        }
        listings.withLock { $0.learn(directory, names: entries.map(\.name) + held, now: .now, since: since, cost: cost) }
        return entries
    }

    /// True when this mount's listing of the name's directory is current
    /// and the name is not in it; a directory whose listing expired in the
    /// last seconds (one being filled) is listed again first (one call that
    /// answers the next second of lookups in it) when that pays and succeeds.
    private func isKnownMissing(_ path: String) async -> Bool {
        guard !path.isEmpty else { return false }
        let parent = DirectoryListings.split(path).parent, cost = lookupCost.withLock { $0 }
        let (absent, relist) = listings.withLock { ($0.answersAbsent(path, now: .now), $0.isWorthRelisting(parent, now: .now, lookupCost: cost)) }
        if absent { return true }
        guard relist, (try? await list(parent)) != nil else { return false }
        return listings.withLock { $0.answersAbsent(path, now: .now) }
    }

    private func noteLookup(_ took: Duration) {
        lookupCost.withLock { cost in cost = min(cost ?? took, took) }
    }

    /// Runs a call that changes `paths`; when it fails, what became of them
    /// is not known and their directories' listings are dropped.
    private func changing<T>(_ paths: String..., call: () async throws -> T) async throws -> T {
        do {
            return try await call()
        } catch {
            listings.withLock { listings in for path in paths { listings.forget(path) } }
            throw error
        }
    }

    // MARK: the attribute cache

    private func cachedEntry(_ path: String) -> ShareEntry? {
        attributeCache.withLock { cache in
            guard let hit = cache[path] else { return nil }
            if hit.expires < ContinuousClock.now {
                cache[path] = nil
                return nil
            }
            return hit.entry
        }
    }

    private func remember(_ path: String, _ entry: ShareEntry) {
        let expires = ContinuousClock.now + Self.attributeTTL
        attributeCache.withLock { cache in
            if cache.count >= 50_000 {
                let now = ContinuousClock.now
                cache = cache.filter { $0.value.expires >= now }
                if cache.count >= 50_000 { cache = [:] }
            }
            cache[path] = (entry, expires)
        }
    }

    /// Drops `path` (and with `subtree` everything below it).
    private func invalidate(_ path: String, subtree: Bool = false) {
        attributeCache.withLock { cache in
            cache[path] = nil
            if subtree {
                let prefix = path.isEmpty ? "" : path + "/"
                for key in cache.keys where key.hasPrefix(prefix) { cache[key] = nil }
            }
        }
        // A change this mount makes to the path: the next open has the kernel drop what it cached. Notes of
        // paths below a directory renamed or removed here stay: a file found there later differs from the
        // one noted in its ctime at least (set at its creation or move), and scanning up to `KernelPages.limit`
        // notes on every rename (rsync renames each file it copies) would cost more than the call.
        _ = kernelPages.withLock { $0.seen.removeValue(forKey: path) }
    }

    // MARK: the page cache

    /// Writes back every open file's dirty pages (before unmounting); failures stay dirty and are dropped with the mount.
    public func writeBackAll() async {
        for file in openFiles() {
            _ = try? await file.lock.run { try await writeBack(file, stamp: true) }
        }
    }

    private func evict() {
        guard cache.cachedBytes > cache.capacity else { return }
        cache.evict(openFiles())
    }

    /// The last handle closed: the file's pages go (a later open reads what the service has).
    private func drop(_ file: OpenFile) {
        let (freed, seen) = file.state.withLock { state in
            let pages = state.pages
            state.pages = [:]
            let seen = state.changedHere || state.pending != nil ? nil
                : KernelPages.Seen(size: state.serverSize, mtimeMs: state.serverMtimeMs, ctimeMs: state.serverCtimeMs)
            return ((cached: pages.count, dirty: pages.values.reduce(0) { $0 + ($1.dirty == nil ? 0 : PageCache.pageSize) }), seen)
        }
        cache.account(cached: -freed.cached * PageCache.pageSize, dirty: -freed.dirty)
        let path = registry.withLock { registry -> String? in
            guard let path = registry.byPath.first(where: { $0.value === file })?.key else { return nil }
            registry.byPath[path] = nil
            return path
        }
        // Unchanged here: the next open keeps the kernel's pages if the service still has it so. A file
        // unlinked or replaced while open has no path, and nothing is noted.
        if kernelCache, let path {
            kernelPages.withLock { pages in
                if let seen {
                    if pages.seen.count >= KernelPages.limit, pages.seen[path] == nil { pages.seen.removeAll(keepingCapacity: true) }
                    pages.seen[path] = seen
                } else {
                    pages.seen[path] = nil
                }
            }
        }
    }

    /// Every open file once (a file unlinked or replaced while open has a handle but no path).
    private func openFiles() -> [OpenFile] {
        registry.withLock { registry in
            var seen = Set<ObjectIdentifier>()
            return registry.byHandle.values.filter { seen.insert(ObjectIdentifier($0)).inserted }
        }
    }

    private func openFiles(under path: String) -> [OpenFile] {
        registry.withLock { registry in
            registry.byPath.filter { path.isEmpty || $0.key == path || $0.key.hasPrefix(path + "/") }.map(\.value)
        }
    }

    /// Open files at (and for a directory, below) `path` no longer have a name: later opens of the path get a new one.
    private func forget(under path: String, directory: Bool) {
        registry.withLock { registry in
            for key in registry.byPath.keys where key == path || (directory && key.hasPrefix(path + "/")) {
                registry.byPath[key] = nil
            }
        }
    }

    /// Reads from cached pages, fetching the missing ones from the service
    /// a window (`PageCache.readAheadPages`) at a time; a sequential reader
    /// (starting where the last read ended) keeps `PageCache.readAheadWindows`
    /// windows past its read in flight. Under `file.lock`.
    private func read(_ file: OpenFile, offset: UInt64, count: Int) async throws -> [UInt8] {
        while true {
            let planned = file.state.withLock { state in self.plan(file, offset: offset, count: count, &state) }
            guard let plan = planned else { return [] }
            for wait in plan.waits { try await wait.value }
            if let result = file.state.withLock({ state in cachedBytes(from: offset, to: plan.end, &state) }) {
                evict()
                return result
            }
        }
    }

    /// Under the file's state lock: starts the fetches a read of `count`
    /// bytes at `offset` needs (its missing windows, and for a sequential
    /// reader, one starting where the last read ended, the windows ahead)
    /// and records where it ended. The read's end and the fetches it must
    /// wait for; nil at or past the end of the file.
    private func plan(_ file: OpenFile, offset: UInt64, count: Int, _ state: inout OpenFile.State) -> (end: UInt64, waits: [Task<Void, any Error>])? {
        let pageSize = UInt64(PageCache.pageSize), window = UInt64(PageCache.readAheadPages)
        guard offset < state.size else { return nil }
        let end = min(offset + UInt64(count), state.size)
        let pages = offset / pageSize ... (end - 1) / pageSize
        var windows = Set(pages.filter { state.pages[$0] == nil }.map { $0 / window })
        let needed = windows
        if offset == state.lastReadEnd || offset == 0 {
            let last = (end - 1) / pageSize / window
            for ahead in last + 1 ... last + UInt64(PageCache.readAheadWindows) where ahead * window * pageSize < state.serverSize {
                windows.insert(ahead)
            }
        }
        state.lastReadEnd = end
        for index in windows where state.fetches[index] == nil {
            let pagesOf = index * window ..< min(index * window + window, (state.size + pageSize - 1) / pageSize)
            if needed.contains(index) || pagesOf.contains(where: { state.pages[$0] == nil }) { fetch(file, window: index, &state) }
        }
        return (end, needed.compactMap { state.fetches[$0] })
    }

    /// Under the file's state lock: the bytes [from, to) from the cached
    /// pages (marked used); nil when one of them is not cached (evicted
    /// since it was fetched: fetch again).
    private func cachedBytes(from offset: UInt64, to end: UInt64, _ state: inout OpenFile.State) -> [UInt8]? {
        guard let pieces = cachedPieces(from: offset, to: end, &state) else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(Int(end - offset))
        for piece in pieces { out += piece }
        return out
    }

    /// The same as slices of the pages, in order (not copied: a page
    /// written meanwhile is copied on that write instead).
    private func cachedPieces(from offset: UInt64, to end: UInt64, _ state: inout OpenFile.State) -> [ArraySlice<UInt8>]? {
        let pageSize = UInt64(PageCache.pageSize)
        let use = cache.tick()
        var out: [ArraySlice<UInt8>] = []
        var position = offset
        while position < end {
            let index = position / pageSize
            guard state.pages[index] != nil else { return nil }
            state.pages[index]!.lastUse = use
            let within = Int(position % pageSize)
            let take = min(PageCache.pageSize - within, Int(end - position))
            out.append(state.pages[index]!.bytes[within ..< within + take])
            position += UInt64(take)
        }
        return out
    }

    /// Starts fetching window `index` (under the file's state lock): its pages
    /// are cached when the fetch ends, unless the file was written or resized
    /// meanwhile (the epoch moved); pages past what the service has read as zeros.
    private func fetch(_ file: OpenFile, window index: UInt64, _ state: inout OpenFile.State) {
        let pageSize = UInt64(PageCache.pageSize), window = UInt64(PageCache.readAheadPages)
        let start = index * window * pageSize, stop = min(start + window * pageSize, state.serverSize)
        let epoch = state.epoch, path = state.path
        state.fetches[index] = Task { [self] in
            let bytes: [UInt8]
            do {
                bytes = start < stop ? try await call("read '\(path)'") { try await $0.read(path, offset: start, length: Int(stop - start)) } : []
            } catch {
                file.state.withLock { $0.fetches[index] = nil }
                throw error
            }
            file.state.withLock { state in
                state.fetches[index] = nil
                guard state.epoch == epoch else { return }
                let use = cache.tick()
                var added = 0
                for page in index * window ..< index * window + window where state.pages[page] == nil && page * pageSize < state.size {
                    let from = Int((page - index * window) * pageSize)
                    let slice = from < bytes.count ? Array(bytes[from ..< min(bytes.count, from + PageCache.pageSize)]) : []
                    state.pages[page] = Page(slice, lastUse: use)
                    added += 1
                }
                cache.account(cached: added * PageCache.pageSize, dirty: 0)
            }
        }
    }

    /// Copies `bytes` into the file's pages (fetching a partly written page the service has first). Under `file.lock`.
    private func write(_ file: OpenFile, offset: UInt64, bytes: [UInt8]) async throws {
        let pageSize = UInt64(PageCache.pageSize)
        let end = offset + UInt64(bytes.count)
        while true {
            // Pages written in part whose old bytes live on the service.
            let (path, needed) = file.state.withLock { state in
                var needed: [UInt64] = []
                for index in Set([offset / pageSize, (end - 1) / pageSize]) where state.pages[index] == nil {
                    let pageStart = index * pageSize
                    let whole = offset <= pageStart && end >= pageStart + pageSize
                    if !whole && pageStart < min(state.serverSize, state.size) { needed.append(index) }
                }
                return (state.path, needed)
            }
            var fetched: [UInt64: [UInt8]] = [:]
            for index in needed {
                fetched[index] = try await call("read '\(path)'") { try await $0.read(path, offset: index * pageSize, length: PageCache.pageSize) }
            }
            let done = file.state.withLock { state -> Bool in
                let use = cache.tick()
                for index in needed where state.pages[index] == nil {
                    var bytes = fetched[index] ?? []
                    // Past the size this mount knows (a truncate not yet seen by the fetch) reads as zeros.
                    let valid = state.size > index * pageSize ? Int(min(UInt64(bytes.count), state.size - index * pageSize)) : 0
                    if valid < bytes.count { bytes.removeSubrange(valid...) }
                    state.pages[index] = Page(bytes, lastUse: use)
                    cache.account(cached: PageCache.pageSize, dirty: 0)
                }
                var position = offset
                var dirtied = 0, added = 0
                // Check first: a partial page evicted since the look above is fetched again.
                for index in Set([offset / pageSize, (end - 1) / pageSize]) where state.pages[index] == nil {
                    let pageStart = index * pageSize
                    let whole = offset <= pageStart && end >= pageStart + pageSize
                    if !whole && pageStart < min(state.serverSize, state.size) { return false }
                }
                while position < end {
                    let index = position / pageSize
                    let within = Int(position % pageSize)
                    let take = min(PageCache.pageSize - within, Int(end - position))
                    if state.pages[index] == nil {
                        state.pages[index] = Page([], lastUse: use)
                        added += 1
                    }
                    let source = Int(position - offset)
                    state.pages[index]!.bytes.replaceSubrange(within ..< within + take, with: bytes[source ..< source + take])
                    if let dirty = state.pages[index]!.dirty {
                        state.pages[index]!.dirty = min(dirty.lowerBound, within) ..< max(dirty.upperBound, within + take)
                    } else {
                        state.pages[index]!.dirty = within ..< within + take
                        dirtied += 1
                    }
                    state.pages[index]!.lastUse = use
                    state.pages[index]!.version &+= 1
                    position += UInt64(take)
                }
                state.size = max(state.size, end)
                state.modified = true
                state.changedHere = true
                state.timeToSet = nil  // written after its time was set: stamped at close like any write
                state.epoch &+= 1
                cache.account(cached: added * PageCache.pageSize, dirty: dirtied * PageCache.pageSize)
                return true
            }
            if done { return }
        }
    }

    /// Writes the dirty pages back (contiguous runs of up to 4 MiB, a few at
    /// once) and, with `stamp`, stamps the modification time when the file
    /// was written to. Under `file.lock`.
    private func writeBack(_ file: OpenFile, stamp: Bool = false) async throws {
        await drainWriteBehinds(file)
        try await createPending(file, withData: true)
        try await setPendingTime(file)
        let pageSize = UInt64(PageCache.pageSize)
        let (path, runs, modified) = file.state.withLock { state in
            var runs: [(offset: UInt64, bytes: [UInt8])] = []
            for index in state.pages.keys.sorted() {
                guard let page = state.pages[index], let dirty = page.dirty else { continue }
                let pageStart = index * pageSize
                let limit = Int(min(pageSize, state.size > pageStart ? state.size - pageStart : 0))
                let range = dirty.lowerBound ..< min(dirty.upperBound, limit)
                guard !range.isEmpty else { continue }
                let start = pageStart + UInt64(range.lowerBound)
                if let last = runs.last, last.offset + UInt64(last.bytes.count) == start, last.bytes.count + range.count <= 4 << 20 {
                    runs[runs.count - 1].bytes += page.bytes[range]
                } else {
                    runs.append((start, Array(page.bytes[range])))
                }
            }
            return (state.path, runs, state.modified)
        }
        if !runs.isEmpty || (stamp && modified) { invalidate(path) }
        defer { if !runs.isEmpty || (stamp && modified) { invalidate(path) } }
        if !runs.isEmpty {
            try await withThrowingTaskGroup(of: Void.self) { group in
                var running = 0
                for run in runs {
                    if running == 4 {
                        try await group.next()
                        running -= 1
                    }
                    file.state.withLock { $0.sent(end: run.offset + UInt64(run.bytes.count)) }
                    group.addTask { try await self.call("write '\(path)'") { try await $0.write(path, offset: run.offset, data: run.bytes) } }
                    running += 1
                }
                try await group.waitForAll()
            }
            file.state.withLock { state in
                var cleaned = 0
                for (index, page) in state.pages where page.dirty != nil {
                    state.pages[index]!.dirty = nil
                    cleaned += 1
                }
                let written = runs.map { $0.offset + UInt64($0.bytes.count) }.max() ?? 0
                state.serverSize = max(state.serverSize, written)
                cache.account(cached: 0, dirty: -cleaned * PageCache.pageSize)
            }
        }
        if stamp && modified {
            // One write since the last stamp that grew the file was stamped by the service (a new small file: no flush call).
            let stamped = file.state.withLock { $0.writesSinceStamp == 1 && $0.lastWriteGrew }
            if !stamped { try await call("flush '\(path)'") { try await $0.flush(path) } }
            file.state.withLock { state in
                state.modified = false
                state.writesSinceStamp = 0
            }
        }
    }

    /// Sends each whole `PageCache.writeBehindBytes` block of [offset, end)
    /// whose pages are all written in full, without waiting for it (at most
    /// `PageCache.writeBehindsInFlight` per file: past that, waits for the
    /// oldest). A page written again while its block is in flight stays
    /// dirty; a failed block stays dirty for the next write-back, which
    /// reports the failure when it fails again. Under `file.lock`.
    private func writeBehind(_ file: OpenFile, offset: UInt64, end: UInt64) async throws {
        let block = UInt64(PageCache.writeBehindBytes), pageSize = UInt64(PageCache.pageSize)
        let pagesPerBlock = block / pageSize
        // A new file past one block: created on the service now (empty), its blocks follow.
        if file.state.withLock({ $0.pending != nil && $0.size >= block }) { try await createPending(file, withData: false) }
        for index in offset / block ... (end - 1) / block {
            let run = file.state.withLock { state -> (path: String, versions: [UInt64], bytes: [UInt8])? in
                let first = index * pagesPerBlock
                guard (index + 1) * block <= state.size else { return nil }
                var versions: [UInt64] = []
                for page in first ..< first + pagesPerBlock {
                    guard let page = state.pages[page], page.dirty == 0 ..< PageCache.pageSize, !page.uploading else { return nil }
                    versions.append(page.version)
                }
                var bytes: [UInt8] = []
                bytes.reserveCapacity(Int(block))
                for page in first ..< first + pagesPerBlock {
                    state.pages[page]!.uploading = true
                    bytes += state.pages[page]!.bytes
                }
                state.sent(end: (index + 1) * block)
                return (state.path, versions, bytes)
            }
            guard let run else { continue }
            while let oldest = file.state.withLock({ state -> Task<Void, Never>? in
                state.uploads.count >= PageCache.writeBehindsInFlight ? state.uploads.removeFirst() : nil
            }) {
                await oldest.value
            }
            let upload = Task { [self] in
                let path = run.path
                let written = (try? await call("write '\(path)'") { try await $0.write(path, offset: index * block, data: run.bytes) }) != nil
                invalidate(path)
                file.state.withLock { state in
                    var cleaned = 0
                    for (offset, version) in run.versions.enumerated() {
                        let page = index * pagesPerBlock + UInt64(offset)
                        guard state.pages[page] != nil else { continue }
                        state.pages[page]!.uploading = false
                        if written, state.pages[page]!.version == version, state.pages[page]!.dirty != nil {
                            state.pages[page]!.dirty = nil
                            cleaned += 1
                        }
                    }
                    if written { state.serverSize = max(state.serverSize, (index + 1) * block) }
                    cache.account(cached: 0, dirty: -cleaned * PageCache.pageSize)
                }
            }
            file.state.withLock { $0.uploads.append(upload) }
        }
    }

    /// Creates the file on the service when this mount still holds it
    /// (`create`): with its bytes in one call when `withData` and it has
    /// 1 B to 4 MiB (its pages are then clean and its time stamped), else
    /// empty (its pages stay dirty for the write-back). When `withData`
    /// and all of it goes (or it is empty), a time utimens set meanwhile
    /// goes with the create, which saves `setPendingTime` its call (what
    /// `cp -a` does: create, write, futimens, fchmod, close: one call).
    /// Under `file.lock`.
    private func createPending(_ file: OpenFile, withData: Bool) async throws {
        let pageSize = UInt64(PageCache.pageSize)
        guard let plan = file.state.withLock({ state -> (path: String, mode: UInt32, data: [UInt8]?, time: Int64?)? in
            guard let pending = state.pending else { return nil }
            if withData, state.size == 0 { return (state.path, pending.mode, nil, state.timeToSet) }
            guard withData, state.size <= UInt64(PageCache.writeBehindBytes) else { return (state.path, pending.mode, nil, nil) }
            var data = [UInt8](repeating: 0, count: Int(state.size))
            for (index, page) in state.pages where index * pageSize < state.size {
                let start = Int(index * pageSize), count = min(PageCache.pageSize, Int(state.size) - Int(index * pageSize))
                data.replaceSubrange(start ..< start + count, with: page.bytes[0 ..< count])
            }
            return (state.path, pending.mode, data, state.timeToSet)
        }) else { return }
        let path = plan.path
        invalidate(path)
        defer { invalidate(path) }
        let entry = try await changing(path) {
            if let data = plan.data {
                try await self.call("create '\(path)'") { try await $0.createFile(path, mode: plan.mode, data: data, mtimeMs: plan.time) }
            } else {
                try await self.call("create '\(path)'") { try await $0.createFile(path, mode: plan.mode, mtimeMs: plan.time) }
            }
        }
        file.state.withLock { state in
            state.pending = nil
            state.serverSize = entry.size
            state.serverMtimeMs = entry.mtimeMs
            state.serverCtimeMs = entry.ctimeMs
            // The time went with the create: nothing left for `setPendingTime` (unless utimens set another
            // since), and the same state after it (the time set is the file's time: no stamp at close).
            if let time = plan.time, state.timeToSet == time {
                state.timeToSet = nil
                state.modified = false
                state.writesSinceStamp = 0
            }
            guard plan.data != nil else { return }
            var cleaned = 0
            for (index, page) in state.pages where page.dirty != nil {
                state.pages[index]!.dirty = nil
                cleaned += 1
            }
            cache.account(cached: 0, dirty: -cleaned * PageCache.pageSize)
            state.modified = false
            state.writesSinceStamp = 0
        }
    }

    /// Sets the modification time utimens gave the file while it was
    /// pending, once it exists (nothing was written to it since: that clears
    /// the time). Kept for the next write-back if the call fails. Under `file.lock`.
    private func setPendingTime(_ file: OpenFile) async throws {
        guard let (path, time) = file.state.withLock({ state in state.timeToSet.map { (state.path, $0) } }) else { return }
        invalidate(path)
        defer { invalidate(path) }
        try await call("utimens '\(path)'") { try await $0.setTimes(path, mtimeMs: time) }
        file.state.withLock { state in
            if state.timeToSet == time { state.timeToSet = nil }
            state.serverMtimeMs = time
            state.modified = false
            state.writesSinceStamp = 0
        }
    }

    /// Creates the files this mount holds at or below `path` (before a listing, a delete or a rename there).
    private func createPending(under path: String) async throws {
        for file in openFiles(under: path) where file.state.withLock({ $0.pending != nil }) {
            try await file.lock.run {
                try await createPending(file, withData: true)
                try await setPendingTime(file)  // a listing or another client then sees the time this mount shows
            }
        }
    }

    /// Waits for every write-behind of the file to end.
    private func drainWriteBehinds(_ file: OpenFile) async {
        while true {
            let uploads = file.state.withLock { state in
                defer { state.uploads = [] }
                return state.uploads
            }
            if uploads.isEmpty { return }
            for upload in uploads { await upload.value }
        }
    }

    /// Truncates or extends through the service (after writing back), keeping the cached pages consistent. Under `file.lock`.
    private func resize(_ file: OpenFile, to size: UInt64) async throws {
        try await writeBack(file)
        let path = file.path
        invalidate(path)
        defer { invalidate(path) }
        try await call("truncate '\(path)'") { try await $0.resize(path, size: size) }
        let pageSize = UInt64(PageCache.pageSize)
        file.state.withLock { state in
            var dropped = 0
            for index in state.pages.keys where index * pageSize >= size {
                state.pages[index] = nil
                dropped += 1
            }
            let tail = size / pageSize, within = Int(size % pageSize)
            if within > 0, state.pages[tail] != nil {
                state.pages[tail]!.bytes.replaceSubrange(within..., with: [UInt8](repeating: 0, count: PageCache.pageSize - within))
            }
            state.size = size
            state.serverSize = size
            state.modified = true
            state.changedHere = true
            state.epoch &+= 1
            cache.account(cached: -dropped * PageCache.pageSize, dirty: 0)
        }
    }
}
