/// What a share holds and how much of its quota it uses.
public struct ShareInfo: Sendable, Equatable {
    public var name: String
    /// Bytes: the most the share's files may hold together (sum of file sizes).
    public var quota: UInt64
    /// Sum of the sizes of the share's files.
    public var usageBytes: UInt64
    public var files: UInt64
    /// Directories other than the root.
    public var directories: UInt64
    /// Milliseconds since the Unix epoch.
    public var creationTime: Int64
    public var metadata: [String: String]

    public init(name: String, quota: UInt64, usageBytes: UInt64, files: UInt64, directories: UInt64, creationTime: Int64,
                metadata: [String: String]) {
        (self.name, self.quota, self.usageBytes, self.files, self.directories) = (name, quota, usageBytes, files, directories)
        (self.creationTime, self.metadata) = (creationTime, metadata)
    }
}

/// One page of shares, by name.
public struct ShareListing: Sendable, Equatable {
    public var shares: [ShareInfo]
    /// Pass back to continue after the last share; nil on the last page.
    public var continuation: String?

    public init(shares: [ShareInfo], continuation: String?) {
        self.shares = shares
        self.continuation = continuation
    }
}

public enum FileKind: UInt8, Sendable, Equatable {
    case directory = 1
    case file = 2
}

/// A file's or directory's name (its last path component; "" for the root)
/// and attributes.
public struct FileInfo: Sendable, Equatable {
    public var name: String
    public var kind: FileKind
    /// Bytes (0 for a directory).
    public var size: UInt64
    /// Permission bits (0-0o7777), stored as given.
    public var mode: UInt32
    /// Last change of the attributes or the place in the tree, ms since the Unix epoch.
    public var ctime: Int64
    /// Last modification, ms since the Unix epoch: set by create, resize,
    /// a write that extends the file, `flushFile` and `setTimes`; for a
    /// directory, by every create, delete or rename in it.
    public var mtime: Int64
    public var metadata: [String: String]

    public init(name: String, kind: FileKind, size: UInt64, mode: UInt32, ctime: Int64, mtime: Int64, metadata: [String: String]) {
        (self.name, self.kind, self.size, self.mode, self.ctime, self.mtime, self.metadata) = (name, kind, size, mode, ctime, mtime, metadata)
    }
}

/// One page of a directory, in the order of its stored entries (keyed
/// hashes of the names: stable, not alphabetical).
public struct DirectoryListing: Sendable, Equatable {
    public var entries: [FileInfo]
    /// Pass back to continue after the last entry; nil on the last page.
    public var continuation: String?

    public init(entries: [FileInfo], continuation: String?) {
        self.entries = entries
        self.continuation = continuation
    }
}
