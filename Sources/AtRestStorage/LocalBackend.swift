import Glibc

/// The `local` backend: a directory (on one machine, or a file system
/// several workers share). A container is a directory below it (its id is
/// the relative path), an object a file named by its object name; the
/// layout is the store's (docs/FORMAT.md), so a data directory written
/// before this interface reads the same.
///
/// Durability is `AtomicFile`'s: temp file, fdatasync, atomic switch,
/// directory fsync (shared by concurrent writers, `DirectorySync`); temp
/// files carry this instance's `WriterLock` id, so an instance opening the
/// directory after a crash removes the dead writer's leftovers.
///
/// Conditions: the switch of a conditional put, every delete and every
/// unconditional put take an exclusive `flock` on the container's `.lock`
/// for the version check and the rename only (not the data write or the
/// fsyncs), so a check and its change are one step for every `LocalBackend`
/// sharing the directory. `mustNotExist` is a `link(2)`, atomic by itself.
/// Versions are inode, change time and size: a replaced file is always a
/// new inode, so a version never comes back unless the file system reuses
/// the freed inode for a file of the same size in the same clock tick.
///
/// Replacing and deleting keep inodes alive for reuse (`SparePool`): an
/// unconditional or version-checked put swaps the new file with the old one
/// (`RENAME_EXCHANGE`) and keeps the old one as a spare temp file; a delete
/// renames the file to a spare. The next temp file in that container
/// refills a spare instead of creating a file.
///
/// Every call runs its system calls on `BlockingIO`, never on the
/// cooperative pool.
public final class LocalBackend: StorageBackend {
    public let directory: String
    /// Temp files of dead writers removed when the backend was opened.
    public let cleanedTempFiles: Int
    /// nil when opened `readingOnly`.
    let writer: WriterLock?
    let directorySync = DirectorySync()
    /// Group commit of puts (`FileCommits`).
    let commits: FileCommits
    /// Replaced and deleted files kept for reuse as temp files (see `SparePool`).
    let spares = SparePool()
    /// Open record maps (SQLite files, `LocalBackend+Records`); read from
    /// private copies when opened `readingOnly` (`LocalRecordSnapshots`).
    let recordMaps: LocalRecordMaps
    static let lockName = ".lock"

    /// Opens (creating if needed) the directory and removes temp files left
    /// by instances that are gone, in the containers of the store's layout
    /// (`a-*/c-*`, `AtomicFile.cleanStoreLeftovers`).
    public init(directory: String) throws {
        self.directory = directory
        try FileSystem.makeDirectory(directory)
        writer = try WriterLock(storeDirectory: directory)
        recordMaps = LocalRecordMaps()
        commits = FileCommits()
        cleanedTempFiles = try AtomicFile.cleanStoreLeftovers(directory, writers: writer!)
    }

    /// Opens an existing directory for reading only (offline recovery,
    /// `atrest-recover`): no writer lock, no clean-up of temp files, record
    /// maps read from private copies, and every verb that would change
    /// something fails with `.invalidArgument`, so nothing in the directory
    /// is created, changed or removed.
    public init(readingOnly directory: String) throws {
        guard FileSystem.exists(directory) else {
            throw StorageError(.containerNotFound, "store directory '\(directory)' does not exist")
        }
        self.directory = directory
        writer = nil
        recordMaps = LocalRecordMaps(readingOnly: true)
        commits = FileCommits()
        cleanedTempFiles = 0
    }

    /// This instance's writer id; `.invalidArgument` when opened read-only.
    func writerID() throws -> String {
        guard let writer else { throw StorageError(.invalidArgument, "store '\(directory)' is opened read-only") }
        return writer.id
    }

    public var kind: BackendKind { .local }

    func path(_ container: BackendContainer) -> String { "\(directory)/\(container.id)" }
    func path(_ name: BackendName) -> String { "\(path(name.container))/\(name.object)" }

    // MARK: Containers

    public func createContainer(_ container: BackendContainer) async throws {
        _ = try writerID()
        try await BlockingIO.run { [self] in
            let dir = path(container)
            let parent = FileSystem.parent(of: dir)
            try FileSystem.makeDirectory(parent)
            guard mkdir(dir, 0o700) == 0 else {
                if errno == EEXIST { throw StorageError(.alreadyExists, "backend container \(container) already exists") }
                throw SystemCall.error("mkdir", dir)
            }
            try FileSystem.syncDirectory(parent)
        }
    }

    public func deleteContainer(_ container: BackendContainer) async throws {
        _ = try writerID()
        try await BlockingIO.run { [self] in
            let dir = try existing(container)
            let entries = try FileSystem.list(dir)
            guard entries.allSatisfy({ $0.hasPrefix(".") }) else {
                throw StorageError(.invalidArgument, "backend container \(container) is not empty")
            }
            for entry in entries { try FileSystem.remove("\(dir)/\(entry)") }
            guard rmdir(dir) == 0 else { throw SystemCall.error("rmdir", dir) }
            try FileSystem.syncDirectory(FileSystem.parent(of: dir))
        }
    }

    /// The container's directory, or `.containerNotFound`.
    func existing(_ container: BackendContainer) throws -> String {
        let dir = path(container)
        guard FileSystem.exists(dir) else { throw StorageError(.containerNotFound, "backend container \(container) does not exist") }
        return dir
    }

    /// `.notFound` for `name`, or `.containerNotFound` when its container is gone too.
    func missing(_ name: BackendName) -> StorageError {
        FileSystem.exists(path(name.container))
            ? StorageError(.notFound, "backend object \(name) does not exist")
            : StorageError(.containerNotFound, "backend container \(name.container) does not exist")
    }

    // MARK: Objects

    public func beginPut(_ name: BackendName, condition: WriteCondition) async throws -> any BackendUpload {
        try await BlockingIO.run { [self] in
            let file = try AtomicFile(directory: try existing(name.container), owner: try writerID(), spares: spares, directorySync: directorySync)
            return LocalUpload(backend: self, name: name, condition: condition, file: file)
        }
    }

    public func open(_ name: BackendName) async throws -> any BackendObject {
        try await BlockingIO.run { [self] in
            guard let fd = try FileSystem.openForReading(path(name)) else { throw missing(name) }
            var info = Glibc.stat()
            guard fstat(fd, &info) == 0 else {
                let error = SystemCall.error("fstat", path(name))
                close(fd)
                throw error
            }
            return LocalObject(descriptor: fd, info: Self.info(info), path: path(name))
        }
    }

    public func stat(_ name: BackendName) async throws -> BackendObjectInfo {
        try await BlockingIO.run { [self] in
            guard let info = try Self.currentInfo(path(name)) else { throw missing(name) }
            return info
        }
    }

    public func delete(_ name: BackendName, condition: WriteCondition) async throws {
        guard condition != .mustNotExist else { throw StorageError(.invalidArgument, "a delete cannot require that the object does not exist") }
        let owner = try writerID()
        try await BlockingIO.run { [self] in
            let dir = try existing(name.container)
            try withContainerLock(dir) {
                guard let current = try Self.currentInfo(path(name)) else { throw missing(name) }
                if case .mustMatch(let version) = condition, current.version != version {
                    throw StorageError(.conditionFailed, "backend object \(name) is at another version; nothing was deleted")
                }
                AtomicFile.discard(path(name), in: dir, owner: owner, spares: spares)
            }
            try directorySync.sync(dir)
        }
    }

    public func list(_ container: BackendContainer, prefix: String, continuation: String?, limit: Int) async throws -> BackendListPage {
        guard limit > 0 else { throw StorageError(.invalidArgument, "list limit must be positive") }
        return try await BlockingIO.run { [self] in
            let names = try FileSystem.list(try existing(container))
                .filter { name in !name.hasPrefix(".") && name.hasPrefix(prefix) && continuation.map { name > $0 } ?? true }
                .sorted()
            let page = Array(names.prefix(limit))
            return BackendListPage(names: page, continuation: names.count > limit ? page.last : nil)
        }
    }

    // MARK: Helpers

    /// Runs `body` holding the container's exclusive lock (`.lock`).
    func withContainerLock<R>(_ dir: String, _ body: () throws -> R) throws -> R {
        let lockPath = "\(dir)/\(Self.lockName)"
        let fd = try SystemCall.retrying("open", lockPath) { Glibc.open(lockPath, O_CREAT | O_RDWR | O_CLOEXEC, 0o600) }
        defer { close(fd) }
        try SystemCall.retrying("flock", lockPath) { flock(fd, LOCK_EX) }
        return try body()
    }

    /// Size and version of the file at `path`; nil when there is none.
    static func currentInfo(_ path: String) throws -> BackendObjectInfo? {
        var info = Glibc.stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return nil }
            throw SystemCall.error("stat", path)
        }
        return Self.info(info)
    }

    static func info(_ info: Glibc.stat) -> BackendObjectInfo {
        BackendObjectInfo(size: UInt64(info.st_size),
                          version: BackendVersion("\(info.st_ino)-\(info.st_ctim.tv_sec).\(info.st_ctim.tv_nsec)-\(info.st_size)"))
    }
}
