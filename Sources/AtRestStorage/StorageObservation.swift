import Synchronization

/// Where the store reports the timing of its durable writes and the size of
/// its group commits, for the worker's `/metrics` (docs/OPERATIONS.md
/// "Metrics and health"). Nothing is timed until an observer is installed.
public struct StorageObserver: Sendable {
    /// `kind`: "data" (fdatasync of a written file) or "directory" (fsync of a directory after a rename).
    public var fsync: @Sendable (_ kind: String, _ duration: Duration) -> Void
    /// A whole durable file write: data synced, published, directory synced.
    public var write: @Sendable (_ duration: Duration) -> Void
    /// One group commit of a record map: the batches it carried and its duration.
    public var groupCommit: @Sendable (_ batches: Int, _ duration: Duration) -> Void

    public init(fsync: @escaping @Sendable (String, Duration) -> Void, write: @escaping @Sendable (Duration) -> Void,
                groupCommit: @escaping @Sendable (Int, Duration) -> Void) {
        self.fsync = fsync
        self.write = write
        self.groupCommit = groupCommit
    }
}

public enum StorageObservation {
    private static let installed = Mutex<StorageObserver?>(nil)
    private static let active = Atomic<Bool>(false)

    /// Installs the process's observer (the worker does, when metrics are on).
    public static func install(_ observer: StorageObserver) {
        installed.withLock { $0 = observer }
        active.store(true, ordering: .releasing)
    }

    /// Pauses (false) or resumes (true) the installed observer; nothing
    /// is timed while paused, as with none installed.
    public static func setActive(_ active: Bool) {
        installed.withLock { observer in
            Self.active.store(active && observer != nil, ordering: .releasing)
        }
    }

    static var observer: StorageObserver? {
        guard active.load(ordering: .acquiring) else { return nil }
        return installed.withLock { $0 }
    }

    /// Runs `body`, reporting its duration to `report` when an observer is installed.
    @inline(__always)
    static func timed<R>(_ report: (StorageObserver) -> (@Sendable (Duration) -> Void), _ body: () throws -> R) rethrows -> R {
        guard let observer else { return try body() }
        let started = ContinuousClock.now
        let result = try body()
        report(observer)(ContinuousClock.now - started)
        return result
    }
}
