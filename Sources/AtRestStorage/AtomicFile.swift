import AtRestCrypto
import Glibc

/// One file written atomically: data goes to `.tmp-<owner>-<random>` in the
/// target directory, then `fdatasync`, an atomic switch to the final name,
/// and an fsync of the directory. A crash at any point leaves the old file or
/// the new one, never a mix. The steps after the writes are `FileCommits`'
/// (a group commit of concurrent puts), which answers a put only once the
/// new file is durable.
///
/// - Writes are gathered into 1 MiB chunks (a 64 KiB + tag segment per
///   `write` cost ~25 % more kernel CPU: every call starts and ends on a
///   partial page) and each chunk's writeback starts at once, overlapping the
///   device with the sealing of the next chunk.
/// - `fdatasync`, not `fsync`: it flushes the data and every bit of metadata
///   needed to read it back (size, block map); only timestamps may be older
///   after a crash.
/// - The switch swaps new and old file (`RENAME_EXCHANGE`, plain `rename`
///   when there is no old file or the filesystem cannot) and hands the old
///   inode to the store's `SparePool`, which the next temp file in this
///   directory reuses; see there why.
/// - The directory fsync is shared with concurrent writers (`DirectorySync`).
///
/// `owner` is the writing store's instance id (`WriterLock`): `cleanLeftovers`
/// removes a temp file only when its owner's lock is free, i.e. that store
/// instance (in this process or another one sharing the directory) is gone.
/// The owner's lock exists before any of its temp files, so there is no
/// window in which a live writer's file looks abandoned.
final class AtomicFile {
    static let tempPrefix = ".tmp-"
    /// Bytes gathered before one `write`.
    static let chunkSize = 1 << 20
    /// An append at least this large goes to `write` as it is, not through
    /// the gathering buffer: gathering saves nothing on a write this size
    /// and costs a copy, and for a file written in one such append (a disk's
    /// 256-512 KiB extent) also the buffer's allocation and its page faults.
    static let directWriteMinimum = 128 << 10

    let directory: String
    let tempPath: String
    private(set) var descriptor: Int32
    private let spares: SparePool?
    private let directorySync: DirectorySync?
    private var buffer: UnsafeMutableRawBufferPointer?
    private var buffered = 0
    /// Bytes already handed to the kernel (the file offset).
    private var written = 0
    /// Where the writeback not yet started begins (`startWriteback`).
    private var writebackStarted = 0
    /// A reused spare's size before this write: its old bytes past
    /// `written` are still there until `writeOut` cuts them (0: none can be).
    private var staleSize: Int64 = 0
    private var done = false
    /// This file's commit told `directorySync` it will sync the directory.
    private var syncAnnounced = false

    init(directory: String, owner: String, spares: SparePool? = nil, directorySync: DirectorySync? = nil) throws {
        self.directory = directory
        self.spares = spares
        self.directorySync = directorySync
        while let spare = spares?.take(from: directory) {
            if let (fd, size) = Self.reuse(spare) {
                tempPath = spare
                descriptor = fd
                staleSize = size
                return
            }
        }
        let suffix = Hex.encode(try SecureRandom.bytes(12))
        tempPath = "\(directory)/\(Self.tempPrefix)\(owner)-\(suffix)"
        let path = tempPath
        descriptor = try SystemCall.retrying("open", path) { open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600) }
    }

    /// Opens a spare for rewriting: only under an exclusive lock (no reader
    /// holds it), only with a single link. Anything else drops it. Its old
    /// bytes stay until they are written over: rewriting blocks the file
    /// already has costs ext4 no block freeing and allocation (emptying it
    /// first was 53 of 1,787 samples, 3%, of a worker's CPU in a profile of
    /// 4 KiB puts), and
    /// `writeOut` cuts what the new content does not cover before the file
    /// is synced, so nothing of the old content is ever published.
    private static func reuse(_ path: String) -> (descriptor: Int32, size: Int64)? {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        var info = stat()
        guard flock(fd, LOCK_EX | LOCK_NB) == 0, fstat(fd, &info) == 0, info.st_nlink == 1 else {
            close(fd)
            unlink(path)
            return nil
        }
        return (fd, Int64(info.st_size))
    }

    deinit {
        withdrawDirectorySync()
        if !done { abort() }
        buffer?.deallocate()
    }

    func append(_ bytes: UnsafeRawBufferPointer) throws {
        if buffered + bytes.count > Self.chunkSize || bytes.count >= Self.directWriteMinimum { try flush() }
        if bytes.count >= Self.directWriteMinimum {
            try FileSystem.writeAll(descriptor, bytes, path: tempPath)
            startWriteback(bytes.count)
            return
        }
        let buffer = self.buffer ?? .allocate(byteCount: Self.chunkSize, alignment: 4096)
        self.buffer = buffer
        UnsafeMutableRawBufferPointer(rebasing: buffer[buffered..<(buffered + bytes.count)]).copyMemory(from: bytes)
        buffered += bytes.count
    }

    /// Hands the gathered bytes to the kernel.
    private func flush() throws {
        guard buffered > 0, let buffer else { return }
        try FileSystem.writeAll(descriptor, UnsafeRawBufferPointer(rebasing: buffer[0..<buffered]), path: tempPath)
        let count = buffered
        buffered = 0
        startWriteback(count)
    }

    /// Counts `count` bytes as handed to the kernel and starts writeback of
    /// what was written since the last start once that is a `chunkSize` or
    /// more (whether it came in one write or in several direct ones).
    private func startWriteback(_ count: Int) {
        written += count
        if written - writebackStarted >= Self.chunkSize {
            LinuxFileCalls.startWriteback(descriptor, offset: writebackStarted, count: written - writebackStarted)
            writebackStarted = written
        }
    }

    /// Alignment `writeWhole` needs of its buffer (and rounds writes up to).
    static let directAlignment = 4096

    /// Writes the whole file from `bytes` (nothing appended before: a
    /// provisional header still in the buffer is dropped) and returns whether
    /// it went around the page cache. `bytes` must start at a
    /// `directAlignment` boundary and be readable up to the next one past
    /// its end, with zeros there (that padding reaches the disk and is cut
    /// off by `ftruncate`).
    ///
    /// Why `O_DIRECT`: for multi-MiB blocks, copying sealed bytes into the
    /// page cache and writing them back (page allocation, delayed
    /// allocation, writeback, later the truncation of those pages) was a
    /// quarter of a worker's CPU per GiB stored, on a 2-core machine where the
    /// cores are the limit. The cost: a read soon after goes to the disk, not
    /// the page cache. Where the filesystem refuses `O_DIRECT` (tmpfs), it
    /// falls back to a buffered write.
    @discardableResult
    func writeWhole(_ bytes: UnsafeRawBufferPointer) throws -> Bool {
        precondition(written == 0 && !done, "writeWhole after data was written")
        buffered = 0
        let padded = (bytes.count + Self.directAlignment - 1) / Self.directAlignment * Self.directAlignment
        var direct = false
        let flags = fcntl(descriptor, F_GETFL)
        if LinuxFileCalls.directIO != 0, flags >= 0, fcntl(descriptor, F_SETFL, flags | LinuxFileCalls.directIO) == 0 {
            var n = -1
            repeat { n = pwrite(descriptor, bytes.baseAddress!, padded, 0) } while n < 0 && errno == EINTR
            direct = n == padded
            _ = fcntl(descriptor, F_SETFL, flags)
        }
        if direct {
            if padded != bytes.count {
                try SystemCall.retrying("ftruncate", tempPath) { ftruncate(descriptor, off_t(bytes.count)) }
                staleSize = 0
            }
        } else {
            // Refused (or short): start over with a plain write of the exact bytes.
            try SystemCall.retrying("ftruncate", tempPath) { ftruncate(descriptor, 0) }
            staleSize = 0
            try FileSystem.writeAll(descriptor, bytes, at: 0, path: tempPath)
        }
        written = bytes.count
        writebackStarted = written
        // pwrite leaves the file offset alone: later appends go after the bytes.
        guard lseek(descriptor, off_t(bytes.count), SEEK_SET) >= 0 else { throw SystemCall.error("lseek", tempPath) }
        return direct
    }

    /// Whether nothing was appended yet (`writeWhole` may be used).
    var isEmpty: Bool { written == 0 && buffered == 0 }

    func overwrite(at offset: Int, _ bytes: [UInt8]) throws {
        try flush()
        try bytes.withUnsafeBytes { try FileSystem.writeAll(descriptor, $0, at: offset, path: tempPath) }
    }

    // MARK: Group commit (`FileCommits`), in this order

    /// Hands what is still gathered to the kernel, cuts a reused spare's old
    /// bytes past the new content, and starts writeback of the whole file,
    /// without waiting for it.
    func writeOut() throws {
        precondition(!done, "AtomicFile used after commit/abort")
        try flush()
        if staleSize > Int64(written) {
            try SystemCall.retrying("ftruncate", tempPath) { ftruncate(descriptor, off_t(written)) }
        }
        staleSize = 0
        if written > 0 { LinuxFileCalls.startWriteback(descriptor, offset: 0, count: written) }
    }

    /// `fdatasync`: the data and what is needed to read it back are durable.
    func syncData() throws {
        _ = try StorageObservation.timed(.dataSync) {
            try SystemCall.retrying("fdatasync", tempPath) { fdatasync(descriptor) }
        }
    }

    /// The temp file got its name (the caller's switch): nothing is left to drop.
    func published() {
        done = true
        close(descriptor)
    }

    /// Tells the shared directory sync that this file's commit will reach
    /// `syncDirectory` soon (`DirectorySync.expect`); `syncDirectory` or
    /// `abort` ends the announcement.
    func announceDirectorySync() {
        guard let directorySync, !syncAnnounced else { return }
        directorySync.expect(directory)
        syncAnnounced = true
    }

    private func withdrawDirectorySync() {
        guard syncAnnounced else { return }
        syncAnnounced = false
        directorySync?.withdraw(directory)
    }

    /// fsyncs the directory, shared with concurrent writers of this store.
    func syncDirectory() throws {
        let announced = syncAnnounced
        syncAnnounced = false
        try StorageObservation.timed(.directorySync) {
            if let directorySync { try directorySync.sync(directory, expected: announced) } else { try FileSystem.syncDirectory(directory) }
        }
    }

    /// After a swap, `path` holds the replaced file: a spare if it qualifies.
    func keepOrRemoveReplaced(at path: String) {
        var info = stat()
        if let spares, lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_nlink == 1,
           spares.offer(path, size: Int64(info.st_size), in: directory) {
            return
        }
        unlink(path)
    }

    /// Removes the file at `path` in `directory`, or renames it to a spare
    /// temp name of `owner` when the pool has room (a file no longer
    /// referenced: a replaced block list's block file, a deleted object).
    static func discard(_ path: String, in directory: String, owner: String, spares: SparePool) {
        var info = stat()
        if lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_nlink == 1,
           let suffix = try? Hex.encode(SecureRandom.bytes(12)) {
            // Renamed before it is offered, so no writer can take a name that is not there yet.
            let spare = "\(directory)/\(tempPrefix)\(owner)-\(suffix)"
            if rename(path, spare) == 0 {
                if !spares.offer(spare, size: Int64(info.st_size), in: directory) { unlink(spare) }
                return
            }
        }
        unlink(path)
    }

    /// Drops the temp file.
    func abort() {
        withdrawDirectorySync()
        guard !done else { return }
        done = true
        unlink(tempPath)
        close(descriptor)
    }

    /// Removes dead writers' temp files in every container of the store's
    /// layout below `directory` (`a-*/c-*`); the count removed.
    static func cleanStoreLeftovers(_ directory: String, writers: WriterLock) throws -> Int {
        var cleaned = 0
        for account in try FileSystem.list(directory) where account.hasPrefix("a-") {
            for container in try FileSystem.list("\(directory)/\(account)") where container.hasPrefix("c-") {
                cleaned += try cleanLeftovers(in: "\(directory)/\(account)/\(container)", writers: writers)
            }
        }
        return cleaned
    }

    /// Removes temp files in `directory` whose owning store instance is gone.
    static func cleanLeftovers(in directory: String, writers: WriterLock) throws -> Int {
        var removed = 0
        for name in try FileSystem.list(directory) where name.hasPrefix(tempPrefix) {
            let rest = name.dropFirst(tempPrefix.count)
            let owner = String(rest.prefix { $0 != "-" })
            if writers.isAlive(owner) { continue }
            if (try? FileSystem.remove("\(directory)/\(name)")) == true { removed += 1 }
        }
        return removed
    }
}
