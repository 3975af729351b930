/// Which version of an object a backend holds: opaque, only compared for
/// equality and only with versions from the same backend (`local`: inode,
/// change time and size of the file; RADOS: the object version).
public struct BackendVersion: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }
}

/// The condition a put or delete applies atomically with its change.
public enum WriteCondition: Hashable, Sendable {
    /// Last writer wins.
    case none
    /// Only if no object has the name (a put; a delete refuses it as invalid).
    case mustNotExist
    /// Only if the object is still at this version.
    case mustMatch(BackendVersion)
}

/// Size and version of a stored object.
public struct BackendObjectInfo: Hashable, Sendable {
    public var size: UInt64
    public var version: BackendVersion

    public init(size: UInt64, version: BackendVersion) {
        self.size = size
        self.version = version
    }
}

/// One page of a container's names (`StorageBackend.list`).
public struct BackendListPage: Hashable, Sendable {
    public var names: [String]
    /// Pass back for the next page; nil when this page was the last.
    public var continuation: String?

    public init(names: [String], continuation: String?) {
        self.names = names
        self.continuation = continuation
    }
}
