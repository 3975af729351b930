/// Where an account's objects can live and how many copies of each are kept:
/// a Ceph pool of size N (N copies, every one of them sealed bytes), or the
/// local directory (one copy, `pool` ""). A deployment offers a list; an
/// account picks one by its redundancy when it is created and keeps it.
public struct StorageClass: Sendable, Hashable, CustomStringConvertible {
    /// The Ceph pool; "" for the local directory.
    public var pool: String
    /// Copies of every object (the pool's size; 1 for a directory).
    public var copies: UInt32

    public init(pool: String, copies: UInt32) {
        self.pool = pool
        self.copies = copies
    }

    /// The local directory: one copy.
    public static let local = StorageClass(pool: "", copies: 1)

    public var description: String { pool.isEmpty ? "\(copies) (local directory)" : "\(copies) (pool \(pool))" }
}

/// The classes a deployment offers, the first one being the default.
public struct StorageClasses: Sendable, Hashable {
    public let all: [StorageClass]

    public init(_ all: [StorageClass]) {
        precondition(!all.isEmpty, "a deployment offers at least one storage class")
        self.all = all
    }

    public static let local = StorageClasses([.local])

    public var defaultClass: StorageClass { all[0] }

    /// The class for an account asking for `redundancy` copies (0: the
    /// default); `.invalidArgument` naming what is offered otherwise.
    public func choose(redundancy: UInt32) throws(StorageError) -> StorageClass {
        if redundancy == 0 { return defaultClass }
        if let match = all.first(where: { $0.copies == redundancy }) { return match }
        throw StorageError(.invalidArgument,
                           "redundancy \(redundancy) is not offered by this deployment; it offers: \(all.map(\.description).joined(separator: ", "))")
    }
}
