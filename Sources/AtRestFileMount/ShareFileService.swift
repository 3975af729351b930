/// The calls a mounted share makes, one share of one account, paths
/// relative to the share's root ("" is the root, "a/b" below it, no
/// leading slash). `FileClient` provides them through the front door
/// (FileClient+ShareFileService.swift); failures are `RPCStatus` values,
/// which `ShareFileSystem` maps to errnos (`FileErrno`).
public protocol ShareFileService: Sendable {
    /// "ACCOUNT/SHARE", for messages.
    var shareName: String { get }
    func stat(_ path: String) async throws -> ShareEntry
    /// Every entry of a directory (following continuations).
    func list(_ path: String) async throws -> [ShareEntry]
    /// A new empty file; `mtimeMs` nil: modified now.
    func createFile(_ path: String, mode: UInt32, mtimeMs: Int64?) async throws -> ShareEntry
    /// A new file holding `data` (1 B to 4 MiB) in one call (atomic up to the service's inline size, 8 KiB).
    func createFile(_ path: String, mode: UInt32, data: [UInt8], mtimeMs: Int64?) async throws -> ShareEntry
    func createDirectory(_ path: String, mode: UInt32) async throws
    /// Up to `length` bytes at `offset` (fewer at the end of the file); any length (split as the service needs).
    func read(_ path: String, offset: UInt64, length: Int) async throws -> [UInt8]
    /// Durable when it returns; extends the file when it ends past it; any length.
    func write(_ path: String, offset: UInt64, data: [UInt8]) async throws
    func resize(_ path: String, size: UInt64) async throws
    /// Stamps the file's modification time (writes are already durable).
    func flush(_ path: String) async throws
    func deleteFile(_ path: String) async throws
    /// Removes an empty directory.
    func deleteDirectory(_ path: String) async throws
    /// Renames within the share; `replace` false refuses an existing target (RENAME_NOREPLACE).
    func rename(_ from: String, to: String, replace: Bool) async throws
    /// Swaps two entries atomically (RENAME_EXCHANGE; both must exist).
    func exchange(_ first: String, _ second: String) async throws
    func setMode(_ path: String, mode: UInt32) async throws
    /// Sets the modification time (milliseconds since 1970).
    func setTimes(_ path: String, mtimeMs: Int64) async throws
    /// The share's quota and usage (statfs).
    func usage() async throws -> ShareUsage
}

/// A file or directory as the mount sees it.
public struct ShareEntry: Sendable, Equatable {
    public var name: String
    public var isDirectory: Bool
    public var size: UInt64
    /// Permission bits (07777).
    public var mode: UInt32
    public var ctimeMs: Int64
    public var mtimeMs: Int64

    public init(name: String, isDirectory: Bool, size: UInt64, mode: UInt32, ctimeMs: Int64, mtimeMs: Int64) {
        self.name = name
        self.isDirectory = isDirectory
        self.size = size
        self.mode = mode & 0o7777
        self.ctimeMs = ctimeMs
        self.mtimeMs = mtimeMs
    }
}

public struct ShareUsage: Sendable, Equatable {
    public var quotaBytes: UInt64
    public var usedBytes: UInt64
    public var files: UInt64
    public var directories: UInt64

    public init(quotaBytes: UInt64, usedBytes: UInt64, files: UInt64, directories: UInt64) {
        self.quotaBytes = quotaBytes
        self.usedBytes = usedBytes
        self.files = files
        self.directories = directories
    }
}
